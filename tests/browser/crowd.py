"""A crowd of simulated phones for the load test and the benchmark: N WebSocket clients on
loopback join the audience page's socket as a phone's page does ({"t":"agree"}), then each
sends at `rate` messages a second (the server's per-phone limit) for `seconds`: the touch pad
and the energy control in turn. It prints one JSON line: how many joined (as dreamers, in the
crowd, turned away), how long joining took (all of them, and each phone's p50 and p99), how
many messages were sent, and any connection that failed.

    python crowd.py ws://127.0.0.1:9080/join/ws PHONES SECONDS RATE
"""

import asyncio
import json
import math
import sys
import time

import websockets


async def phone(url, i, seconds, rate, go, out):
    t0 = time.perf_counter()
    try:
        async with websockets.connect(url, open_timeout=30, max_size=2**16) as ws:
            await ws.send(json.dumps({"t": "agree"}))
            while True:
                m = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if m["t"] in ("dreamer", "crowd", "full"):
                    break
            out["joins_ms"].append((time.perf_counter() - t0) * 1e3)
            out[m["t"]] += 1
            if m["t"] == "full":
                return
            # Everyone starts steering together, once all have joined (or given up).
            await go.wait()
            period = 1.0 / rate
            end = time.perf_counter() + seconds
            k = 0
            # Spread over the period, so the crowd does not send in lockstep.
            next_at = time.perf_counter() + (i % 97) / 97 * period
            reader = asyncio.ensure_future(drain(ws))
            while time.perf_counter() < end:
                k += 1
                x = 0.5 + 0.5 * math.sin(k * 0.1 + i)
                if k % 2:
                    msg = {"t": "pad", "x": round(x, 4), "y": round(1 - x, 4)}
                else:
                    msg = {"t": "energy", "v": round(x, 4)}
                await ws.send(json.dumps(msg))
                out["sent"] += 1
                next_at += period
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            reader.cancel()
            await ws.send(json.dumps({"t": "leave"}))
    except Exception as e:  # a phone that fails is counted, the crowd goes on
        out["errors"].append(f"{type(e).__name__}: {e}")


async def drain(ws):
    # The server's "feel" messages, read and dropped, as a page would.
    async for _ in ws:
        pass


async def main(url, phones, seconds, rate):
    out = {"dreamer": 0, "crowd": 0, "full": 0, "sent": 0, "joins_ms": [], "errors": []}
    started = time.perf_counter()
    go = asyncio.Event()
    tasks = [asyncio.ensure_future(phone(url, i, seconds, rate, go, out)) for i in range(phones)]
    # Wait for every join (or failure), then let them all steer from the same moment.
    while len(out["joins_ms"]) + len(out["errors"]) < phones and time.perf_counter() - started < 60:
        await asyncio.sleep(0.01)
    joined_s = time.perf_counter() - started
    go.set()
    await asyncio.gather(*tasks)
    joins = sorted(out.pop("joins_ms"))
    pick = lambda q: round(joins[min(len(joins) - 1, int(q * (len(joins) - 1) + 0.5))], 1) if joins else None
    out.update(
        {
            "phones": phones,
            "join_all_s": round(joined_s, 3),
            "joins_per_s": round(len(joins) / joined_s, 1) if joined_s > 0 else None,
            "join_p50_ms": pick(0.5),
            "join_p99_ms": pick(0.99),
            "errors": out["errors"][:5],
            "error_count": len(out["errors"]),
        }
    )
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    url, phones, seconds, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    asyncio.run(main(url, phones, seconds, rate))
