"""The in-run reference: a plain asyncio HTTP echo server (no durability, no deployment).

Perdure's figures are reported as ratios to this server's throughput measured in the same run,
because only ratios measured together mean anything on a shared, noisy machine."""

from __future__ import annotations

import asyncio
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end].lower()
            length = 0
            idx = head.find(b"content-length:")
            if idx >= 0:
                length = int(head[idx + 15 :].split(b"\r\n", 1)[0])
            total = head_end + 4 + length
            if len(self.buf) < total:
                return
            body = self.buf[head_end + 4 : total]
            self.buf = self.buf[total:]
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                % (len(body), body)
            )


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", port)
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
