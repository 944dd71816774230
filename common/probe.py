"""Container healthcheck probe: `python -m common.probe URL` exits 0 when URL answers 2xx within 3 s.

Images need no curl for this, and it prints why a probe failed into `docker inspect`'s health log.
"""

import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m common.probe URL", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(argv[0], timeout=3) as response:
            print(response.status)
            return 0 if 200 <= response.status < 300 else 1
    except urllib.error.HTTPError as exc:
        print(f"{exc.code} {exc.reason}", file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"unreachable: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
