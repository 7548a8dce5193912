"""server/wire/errors.py: FrameError carries code, message and ref."""

import pytest

from server.wire.errors import FrameError


def test_frame_error_fields() -> None:
    error = FrameError("invalid_frame", "field 'text' is required", "c7")
    assert (error.code, error.message, error.ref, str(error)) == (
        "invalid_frame",
        "field 'text' is required",
        "c7",
        "field 'text' is required",
    )


def test_frame_error_ref_defaults_to_none() -> None:
    assert FrameError("unknown_type", "unknown frame type 'x'").ref is None


def test_frame_error_rejects_a_code_outside_the_protocol() -> None:
    with pytest.raises(ValueError, match="unknown frame error code 'invalid'"):
        FrameError("invalid", "oops")
