"""An agent's own profile: display name, title and an uploaded avatar."""
