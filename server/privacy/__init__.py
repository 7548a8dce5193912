"""A visitor's rights over what Beckon holds about them: access (export), erasure, and
retention per site. See docs/privacy.md for what is stored where and for how long."""
