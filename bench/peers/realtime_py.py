# bench/peers/realtime_py.py: the Python peer of bench/realtime.sh. Python's websockets (10.4,
# Debian's /usr/bin/python3) echoing every message on --port, and, on --sse-port, a bare
# asyncio Server-Sent Events stream per GET that sends a tick each second, as snow_demo's
# /events/ does.
#   /usr/bin/python3 bench/peers/realtime_py.py --port 9001 --sse-port 9002
import argparse
import asyncio

import websockets


async def echo(ws, _path):
    async for message in ws:
        await ws.send(message)


async def events(reader, writer):
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Cache-Control: no-cache\r\n\r\n")
        tick = 0
        while True:
            tick += 1
            writer.write(b"id: %d\nevent: tick\ndata: tick %d\n\n" % (tick, tick))
            await writer.drain()
            await asyncio.sleep(1)
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sse-port", type=int, required=True)
    args = parser.parse_args()
    async with websockets.serve(echo, "127.0.0.1", args.port, compression=None,
                                ping_interval=30, max_queue=16, backlog=4096):
        server = await asyncio.start_server(events, "127.0.0.1", args.sse_port, backlog=4096)
        print(f"listening on {args.port} and {args.sse_port}", flush=True)
        async with server:
            await asyncio.Future()


asyncio.run(main())
