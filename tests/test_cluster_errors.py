"""Typed cluster errors: facts and a hint as data, and never a credential."""

from __future__ import annotations

from lanedesign.cluster.errors import (
    ApiError,
    ClusterError,
    ConfigError,
    StalePlan,
    TargetNotServed,
    Unreachable,
    redact,
)


def test_each_error_names_its_type_and_keeps_message_and_hint():
    for cls, code in ((ClusterError, "cluster-error"), (ConfigError, "config-error"),
                      (Unreachable, "unreachable"), (StalePlan, "stale-plan")):
        error = cls("what happened", "what to do")
        assert error.to_dict() == {"type": code, "message": "what happened",
                                   "hint": "what to do"}
        assert str(error) == "what happened" and isinstance(error, ClusterError)


def test_an_api_error_carries_the_servers_status_and_what_it_was_about():
    error = ApiError(422, "Invalid", "spec.http: required", "fix the spec", "VirtualService/x")
    assert str(error) == "422 Invalid (VirtualService/x): spec.http: required"
    assert error.to_dict() == {"type": "api-error", "message": "spec.http: required",
                               "hint": "fix the spec", "status": 422, "reason": "Invalid",
                               "target": "VirtualService/x"}
    assert str(ApiError(404, "NotFound", "gone")) == "404 NotFound: gone"


def test_a_target_not_served_lists_what_is_missing_and_what_is_there():
    error = TargetNotServed("no ASM", "install ASM", ["istio.alibabacloud.com/v1/ASMSwimLane"],
                            {"istio.alibabacloud.com": []})
    assert error.to_dict()["missing"] == ["istio.alibabacloud.com/v1/ASMSwimLane"]
    assert error.to_dict()["served"] == {"istio.alibabacloud.com": []}


def test_redact_removes_every_secret_longest_first_and_ignores_short_ones():
    text = "token abcdef1234 and abcdef in Authorization: Bearer abcdef1234; id ab"
    assert redact(text, ["abcdef", "abcdef1234", "ab", ""]) == \
        "token <redacted> and <redacted> in Authorization: Bearer <redacted>; id ab"
