"""The gateway's own endpoints from Python: fault rules (/_faults) and snapshots of S3 state (/_snapshots).

Plain urllib, so that a user's test suite needs nothing beyond boto3 to drive them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request


class GatewayError(RuntimeError):
    """The gateway refused a control request; the message says which, with its status and answer."""

    def __init__(self, method: str, url: str, status: int, body: str):
        super().__init__(f"{method} {url} answered {status}: {body[:500]}")
        self.status = status
        self.body = body


def call(method: str, url: str, payload: object = None, timeout: float = 30) -> tuple[int, object]:
    """(status, decoded JSON or None); a GatewayError for any status >= 400 or an unreachable gateway."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raise GatewayError(method, url, error.code, error.read().decode("utf-8", "replace")) from None
    except urllib.error.URLError as error:
        raise GatewayError(method, url, 0, f"unreachable: {error.reason}") from None
    try:
        return status, json.loads(body) if body else None
    except json.JSONDecodeError:
        return status, None


class Faults:
    """Installs fault rules on a gateway and removes exactly the ones it installed (`clear`)."""

    def __init__(self, endpoint: str):
        self.url = endpoint.rstrip("/") + "/_faults"
        self.installed: list[str] = []

    def add(self, **rule: object) -> dict:
        """Install one rule (fields as in docs/testing.md); the rule as the gateway holds it, with its id."""
        try:
            _, answer = call("POST", self.url, rule)
        except GatewayError as error:
            if error.status in (404, 405, 500, 501) and "field" not in error.body:
                raise GatewayError(
                    "POST", self.url, error.status,
                    "this endpoint has no fault injection (it needs motostack's gateway with /_faults)",
                ) from None  # fmt: skip
            raise
        assert isinstance(answer, dict)
        self.installed.append(answer["id"])
        return answer

    def rules(self) -> list[dict]:
        """Every rule on the gateway, with `remaining` and `injected` counts."""
        _, answer = call("GET", self.url)
        return answer if isinstance(answer, list) else []

    def get(self, rule_id: str) -> dict | None:
        return next((rule for rule in self.rules() if rule["id"] == rule_id), None)

    def remove(self, rule_id: str) -> None:
        try:
            call("DELETE", f"{self.url}/{urllib.parse.quote(rule_id, safe='')}")
        except GatewayError as error:
            if error.status != 404:
                raise
        if rule_id in self.installed:
            self.installed.remove(rule_id)

    def clear(self) -> None:
        """Remove the rules this object installed (other tests' rules on a shared gateway stay)."""
        for rule_id in list(self.installed):
            self.remove(rule_id)


class Snapshots:
    """Names, saves, restores and deletes snapshots of all S3 state on a motostack gateway."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint.rstrip("/")

    def _url(self, name: str, action: str = "") -> str:
        return f"{self.endpoint}/_snapshots/{urllib.parse.quote(name, safe='')}{action}"

    def save(self, name: str) -> None:
        try:
            call("POST", self._url(name))
        except GatewayError as error:
            if error.status in (404, 405, 501):
                raise GatewayError(
                    "POST", self._url(name), error.status,
                    "this endpoint keeps no snapshots (it needs motostack's gateway with /_snapshots)",
                ) from None  # fmt: skip
            raise

    def restore(self, name: str) -> None:
        call("POST", self._url(name, "/restore"))

    def delete(self, name: str) -> None:
        try:
            call("DELETE", self._url(name))
        except GatewayError as error:
            if error.status != 404:
                raise

    def reset(self) -> None:
        """Every bucket and object gone."""
        call("POST", f"{self.endpoint}/_reset")
