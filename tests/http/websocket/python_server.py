# tests/http/websocket/python_server.py: Python's websockets library (10.4 API) as a real server
# for snow's WebSocket client (tests/http/client/websocket_python_server_test.cpp runs it with
# /usr/bin/python3). It listens on 127.0.0.1, port 0, and prints "port N"; then, for its one
# client, echoes each message, except three commands: "fragment" is answered with one message
# in two frames, "ping" with a ping whose pong it awaits (then the text "pong received"), and
# "close" with a close frame, code 4321 and a non-ASCII reason. It prints one line per check.
import asyncio

import websockets

CLOSE_CODE = 4321
CLOSE_REASON = "done, \u00e9t\u00e9"
PING_PAYLOAD = b"\x00are you there?\xff"


async def serve_one(ws: websockets.WebSocketServerProtocol, done: asyncio.Future) -> None:
    try:
        while True:
            try:
                message = await ws.recv()
            except websockets.ConnectionClosed:  # even after a close with 4321, not an error
                break
            if message == "fragment":
                await ws.send(["frag", "ments"])  # one message in two frames
            elif message == "ping":
                pong = await ws.ping(PING_PAYLOAD)  # resolves when the pong's payload matches
                await asyncio.wait_for(pong, 5)
                print("pong received", flush=True)
                await ws.send("pong received")
            elif message == "close":
                await ws.close(CLOSE_CODE, CLOSE_REASON)
            else:
                await ws.send(message)
        print("closed", ws.close_code, flush=True)
    finally:
        if not done.done():
            done.set_result(None)


async def main() -> None:
    done = asyncio.get_running_loop().create_future()
    async with websockets.serve(lambda ws, *_: serve_one(ws, done), "127.0.0.1", 0) as server:
        print("port", server.sockets[0].getsockname()[1], flush=True)
        await done


asyncio.run(asyncio.wait_for(main(), 20))
