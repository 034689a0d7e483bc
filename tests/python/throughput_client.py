"""A Python client streaming lookups as fast as grpcio lets it: the bench's client and a test's.

Stubs are generated from leakdex's proto/ with grpcio-tools, as another agency would. The client
stays up and runs one stream per command read from stdin, so that Python's start-up and the
stubs' generation are not timed:

    single COUNT        COUNT lookups over BatchLookup, one identifier per message
    batched COUNT SIZE  COUNT lookups over LookupBatches, SIZE identifiers per message

and prints one JSON line per command: {"seconds": ..., "answered": ..., "hits": ...}, where
seconds is the stream's wall time from its first request to its last answer. Answers are checked
as they arrive (one per identifier, in order: the id echoes the position); a wrong one exits
with a message. The values cycle through the lines of QUERIES.

usage: LEAKDEX_TOKEN=... throughput_client.py ADDRESS PROTO_DIR QUERIES
"""

import json
import os
import sys
import time

import grpc

# The stubs are generated as the other agency's client generates them (same folder).
from batch_lookup_client import generated_stubs


def single(stub, pb, values, count):
    def requests():
        for position in range(count):
            yield pb.LookupRequest(id=str(position), value=values[position % len(values)])

    answered = hits = 0
    for response in stub.BatchLookup(requests()):
        if response.id != str(answered):
            raise SystemExit(f"answer {answered} has id {response.id!r}")
        hits += len(response.hits)
        answered += 1
    return answered, hits


def batched(stub, pb, values, count, size):
    def batches():
        for start in range(0, count, size):
            yield pb.LookupBatch(
                requests=[
                    pb.LookupRequest(id=str(position), value=values[position % len(values)])
                    for position in range(start, min(start + size, count))
                ]
            )

    answered = hits = 0
    for answer in stub.LookupBatches(batches()):
        for response in answer.responses:
            if response.id != str(answered):
                raise SystemExit(f"answer {answered} has id {response.id!r}")
            hits += len(response.hits)
            answered += 1
    return answered, hits


def main(address, proto_dir, queries_path):
    pb, pb_grpc = generated_stubs(proto_dir)
    with open(queries_path, encoding="utf-8") as queries:
        values = [line.rstrip("\n") for line in queries if line.strip()]
    credentials = grpc.composite_channel_credentials(
        grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP),
        grpc.access_token_call_credentials(os.environ["LEAKDEX_TOKEN"]),
    )
    # Answers to a batch of 10,000 identifiers can exceed grpcio's default 4 MiB.
    options = [("grpc.max_receive_message_length", 64 << 20)]
    stub = pb_grpc.LookupStub(grpc.secure_channel(address, credentials, options=options))
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        started = time.perf_counter()
        if words[0] == "single":
            answered, hits = single(stub, pb, values, int(words[1]))
        elif words[0] == "batched":
            answered, hits = batched(stub, pb, values, int(words[1]), int(words[2]))
        else:
            raise SystemExit(f"unknown command {line!r}")
        seconds = time.perf_counter() - started
        if answered != int(words[1]):
            raise SystemExit(f"{answered} answers to {words[1]} lookups")
        print(json.dumps({"seconds": seconds, "answered": answered, "hits": hits}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
