"""Runs the README's grpcurl examples the way grpcurl runs them, without grpcurl.

grpcurl is a Go binary that this machine cannot install. What it does with a command line is
small and standard: it finds the method through server reflection, reads the `-d` body with the
protobuf JSON mapping, sends it with the `-H` headers (a single message on a streaming call), and
prints each response in the JSON mapping. This script does exactly that with grpcio-reflection
(v1alpha, the version Python speaks; grpcurl tries v1 first) and google.protobuf.json_format, so
a wrong field name, method name or header in the README fails the test.

usage: readme_grpcurl.py README ADDRESS TOKEN
prints one JSON line per example: {"method": ..., "responses": [...]}
"""

import json
import shlex
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def examples(readme, token):
    """The grpcurl command lines of the README, with the token in place of $T."""
    with open(readme, encoding="utf-8") as text:
        for line in text:
            if line.startswith("grpcurl "):
                yield shlex.split(line.replace("$T", token))


def parse(arguments):
    """(headers, body, method) of a grpcurl command line."""
    headers, body, rest = [], "{}", []
    words = iter(arguments[1:])
    for word in words:
        if word == "-H":
            name, value = next(words).split(":", 1)
            headers.append((name.strip().lower(), value.strip()))
        elif word == "-d":
            body = next(words)
        elif word.startswith("-"):
            continue
        else:
            rest.append(word)
    if len(rest) != 2:
        raise SystemExit(f"expected ADDRESS METHOD in {arguments}")
    return headers, body, rest[1]


def call(channel, pool, headers, body, method_name):
    service_name, method_short = method_name.rsplit("/", 1)
    method = pool.FindServiceByName(service_name).methods_by_name[method_short]
    shape = descriptor_pb2.MethodDescriptorProto()
    method.CopyToProto(shape)
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    request = json_format.Parse(body, request_class())
    path = f"/{service_name}/{method_short}"
    kinds = {
        (False, False): channel.unary_unary,
        (False, True): channel.unary_stream,
        (True, False): channel.stream_unary,
        (True, True): channel.stream_stream,
    }
    stub = kinds[(shape.client_streaming, shape.server_streaming)](
        path,
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    argument = iter([request]) if shape.client_streaming else request
    answer = stub(argument, metadata=headers, timeout=60)
    responses = list(answer) if shape.server_streaming else [answer]
    return [json.loads(json_format.MessageToJson(response)) for response in responses]


def main(readme, address, token):
    channel = grpc.insecure_channel(address)
    # grpcurl sends the -H headers on its reflection calls too: the server needs them there.
    authorized = grpc.intercept_channel(channel, Authorize(token))
    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(authorized))
    for arguments in examples(readme, token):
        headers, body, method = parse(arguments)
        try:
            responses = call(channel, pool, headers, body, method)
        except grpc.RpcError as error:
            raise SystemExit(f"{method}: {error.code()} {error.details()}")
        print(json.dumps({"method": method, "responses": responses}))


class Authorize(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the bearer token to reflection calls."""

    def __init__(self, token):
        self.metadata = [("authorization", f"Bearer {token}")]

    def _details(self, details):
        return details._replace(metadata=list(details.metadata or []) + self.metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


if __name__ == "__main__":
    main(*sys.argv[1:4])
