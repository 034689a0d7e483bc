"""Another agency's client, built the way an outside team would build it.

Stubs are generated from leakdex's proto/ with grpcio-tools; every query of a file goes through one
BatchLookup stream; answers are written as JSON lines. A second check uses nothing but server
reflection (v1alpha, the only version grpcio-reflection speaks) to find and call the service.

The bearer token comes from LEAKDEX_TOKEN. Call credentials need a channel that grpc considers
secure: local credentials (plaintext, loopback only) here; TLS credentials across a network.

usage: LEAKDEX_TOKEN=... batch_lookup_client.py ADDRESS PROTO_DIR QUERIES OUT
"""

import hashlib
import json
import os
import sys
import tempfile

import grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpc_tools import protoc
from google.protobuf import descriptor_pool, message_factory


def generated_stubs(proto_dir):
    out_dir = tempfile.mkdtemp()
    for name in ("leakdex/v1/lookup.proto", "leakdex/v1/corpora.proto"):
        code = protoc.main(
            ["protoc", f"-I{proto_dir}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", name]
        )
        if code != 0:
            raise SystemExit(f"grpc_tools.protoc failed on {name}")
    sys.path.insert(0, out_dir)
    from leakdex.v1 import lookup_pb2, lookup_pb2_grpc

    return lookup_pb2, lookup_pb2_grpc


def hits_of(response):
    return [
        {
            "corpus": hit.corpus,
            "file": hit.file,
            "record": hit.record,
            "line": hit.line,
            "offset": hit.offset,
            "field": hit.field,
        }
        for hit in response.hits
    ]


def reflection_only(channel, value):
    """Finds BatchLookup through reflection alone and looks one value up."""
    database = ProtoReflectionDescriptorDatabase(channel)
    services = database.get_services()
    if "leakdex.v1.Lookup" not in services:
        raise SystemExit(f"reflection lists {services}, not leakdex.v1.Lookup")
    pool = descriptor_pool.DescriptorPool(database)
    service = pool.FindServiceByName("leakdex.v1.Lookup")
    method = service.methods_by_name["BatchLookup"]
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    call = channel.stream_stream(
        "/leakdex.v1.Lookup/BatchLookup",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    responses = list(call(iter([request_class(id="r", value=value)])))
    if len(responses) != 1 or responses[0].id != "r":
        raise SystemExit(f"reflection call answered {responses}")
    return responses[0]


def private_lookup(stub, lookup_pb2, found):
    """Asks for a known identifier by the first 5 hex characters of its SHA-256 only, and finds it
    in the padded answer by the rest of its hash."""
    normalized, corpora = found
    digest = hashlib.sha256(normalized.encode("utf-8")).hexdigest()
    answer = stub.RangeLookup(lookup_pb2.RangeLookupRequest(prefix=digest[:5]))
    if len(answer.entries) % 64 != 0:
        raise SystemExit(f"range answer of {len(answer.entries)} entries is not padded")
    mine = [entry for entry in answer.entries if entry.suffix == digest[5:16]]
    return len(mine) == 1 and sorted(mine[0].corpora) == corpora


def main(address, proto_dir, queries_path, out_path):
    lookup_pb2, lookup_pb2_grpc = generated_stubs(proto_dir)
    with open(queries_path, encoding="utf-8") as queries:
        values = [line.rstrip("\n") for line in queries if line.strip()]
    credentials = grpc.composite_channel_credentials(
        grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP),
        grpc.access_token_call_credentials(os.environ["LEAKDEX_TOKEN"]),
    )
    channel = grpc.secure_channel(address, credentials)
    stub = lookup_pb2_grpc.LookupStub(channel)

    def requests():
        for position, value in enumerate(values):
            yield lookup_pb2.LookupRequest(id=str(position), value=value)

    answered = 0
    found = None
    with open(out_path, "w", encoding="utf-8") as out:
        for response in stub.BatchLookup(requests()):
            if response.id != str(answered):
                raise SystemExit(f"response {answered} has id {response.id}")
            record = {"query": values[answered], "hits": hits_of(response)}
            if response.error:
                record = {"query": values[answered], "error": response.error}
            else:
                record["normalized"] = response.normalized
                if found is None and response.hits:
                    found = (response.normalized, sorted({hit.corpus for hit in response.hits}))
            out.write(json.dumps(record) + "\n")
            answered += 1
    if answered != len(values):
        raise SystemExit(f"{answered} answers for {len(values)} queries")
    reflected = reflection_only(channel, values[0])
    print(json.dumps({"answered": answered, "reflection_hits": len(reflected.hits), "range_found": private_lookup(stub, lookup_pb2, found)}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
