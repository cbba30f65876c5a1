# tests/http/websocket/python_client.py: Python's websockets library as a real client of the
# server under test (python_client_test.cpp runs it with /usr/bin/python3, the port, and for
# TLS the CA file): it prints one line per check, which the test compares with what it expects.
import asyncio
import ssl
import sys

import websockets


async def main(port: int, ca_file: str | None) -> None:
    if ca_file is None:
        url, context = f"ws://127.0.0.1:{port}/ws/echo", None
    else:
        url, context = f"wss://localhost:{port}/ws/echo", ssl.create_default_context(cafile=ca_file)
    # The TCP connection goes to 127.0.0.1 whatever the URL names: a machine without
    # /etc/hosts cannot resolve "localhost", which the certificate and SNI still use.
    async with websockets.connect(url, subprotocols=["json"], ssl=context, host="127.0.0.1", port=port) as ws:
        print("subprotocol", ws.subprotocol)
        # websockets offers permessage-deflate by default: the server's answer, and what the
        # library agreed on.
        print("extensions", ws.response_headers.get("Sec-WebSocket-Extensions"))
        print("agreed", [e.name for e in ws.extensions])
        await ws.send("h\u00e9llo")
        print("text", await ws.recv())
        await ws.send(b"\x00\x01\xff")
        print("binary", (await ws.recv()).hex())
        await ws.send(["frag", "ments"])  # one message in two frames
        print("fragmented", await ws.recv())
        big = "x" * 300000
        await ws.send(big)
        print("big", len(await ws.recv()))
        # Compressed both ways, with the server's window carried from message to message.
        json = "[" + ",".join(f'{{"id":{i},"symbol":"SNOW"}}' for i in range(2000)) + "]"
        for _ in range(2):
            await ws.send(json)
            print("json", await ws.recv() == json)
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        print("pong")
    print("closed", ws.close_code)


asyncio.run(asyncio.wait_for(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None), 20))
