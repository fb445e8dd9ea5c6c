"""Run moto's server with request handling serialized.

moto's server answers on many threads, and its DynamoDB backend checks a condition and
then writes, without a lock, so two concurrent conditional writes can both succeed. Real
DynamoDB applies each conditional write atomically. Handling one request at a time (while
connections stay concurrent) gives the emulator that property, so tests of conditional
writes under concurrency exercise the real protocol, not a race inside the emulator.
"""
import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            # Consume the whole response inside the lock: the backend state is read while
            # the body is produced.
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True)


if __name__ == "__main__":
    main()
