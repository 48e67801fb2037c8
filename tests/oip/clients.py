"""The Open Inference Protocol's real clients, run against a server: what tritonclient.http and
the kserve SDK's REST client get from it. Run by the tests in .venv-clients (requirements-clients.txt),
whose pins cannot share the project's venv, so it imports nothing of the project:

    .venv-clients/bin/python tests/oip/clients.py --client triton --url http://127.0.0.1:5000 a.jpg b.jpg

It prints one JSON object: {"outputs": {name: [value, ...]}, "id", "parameters"}, or
{"error": what the client raised}, and the health and metadata the client reads, so that a test
compares them with /model/predict's answer.
"""
import argparse
import asyncio
import base64
import json
from urllib.parse import urlparse

import numpy as np

MODEL = "memorability"


def photos(paths, binary):
    """The BYTES tensor of the photos: raw bytes for the binary extension, else base64 text (JSON
    strings cannot carry the bytes of a photo; both clients send UTF-8 text in JSON)."""
    data = [open(path, "rb").read() for path in paths]
    return np.array(data if binary else [base64.b64encode(one) for one in data], dtype=object)


def triton(args):
    import tritonclient.http as http
    from tritonclient.utils import InferenceServerException

    client = http.InferenceServerClient(urlparse(args.url).netloc)
    tensor = http.InferInput("image", [len(args.photos)], "BYTES")
    tensor.set_data_from_numpy(photos(args.photos, args.binary), binary_data=args.binary)
    outputs = [http.InferRequestedOutput(name, binary_data=args.binary) for name in args.outputs] or None
    facts = {"live": client.is_server_live(), "ready": client.is_server_ready(),
             "model_ready": client.is_model_ready(MODEL), "metadata": client.get_model_metadata(MODEL),
             "server": client.get_server_metadata()}
    try:
        result = client.infer(MODEL, [tensor], outputs=outputs, request_id=args.id,
                              parameters={"stable": args.stable} if args.stable is not None else None)
    except InferenceServerException as error:
        return {**facts, "error": error.message(), "status": error.status()}
    response = result.get_response()
    return {**facts, "id": response.get("id"), "parameters": response.get("parameters"),
            "outputs": {output["name"]: result.as_numpy(output["name"]).tolist() for output in response["outputs"]}}


async def kserve(args):
    import httpx
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
    from kserve.protocol.infer_type import RequestedOutput

    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=120))
    try:
        tensor = InferInput("image", [len(args.photos)], "BYTES")
        tensor.set_data_from_numpy(photos(args.photos, args.binary), binary_data=args.binary)
        outputs = [RequestedOutput(name, {"binary_data": args.binary}) for name in args.outputs] or None
        request = InferRequest(MODEL, [tensor], request_id=args.id or None, request_outputs=outputs,
                               parameters={"stable": args.stable} if args.stable is not None else None)
        facts = {"live": await client.is_server_live(args.url), "ready": await client.is_server_ready(args.url),
                 "model_ready": await client.is_model_ready(args.url, MODEL)}
        try:
            response = await client.infer(args.url, request, MODEL)
        except httpx.HTTPStatusError as error:
            return {**facts, "error": str(error), "status": error.response.status_code}
        return {**facts, "id": response.id, "parameters": response.parameters,
                "outputs": {output.name: output.as_numpy().tolist() for output in response.outputs}}
    finally:
        await client.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", choices=("triton", "kserve"), required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--json", dest="binary", action="store_false", help="JSON tensors, not the binary extension")
    parser.add_argument("--stable", choices=("true", "false"), help="the request's parameter stable")
    parser.add_argument("--output", dest="outputs", action="append", default=[], help="an output to ask for")
    parser.add_argument("--id", default="", help="the request's id")
    parser.add_argument("photos", nargs="+")
    args = parser.parse_args()
    args.stable = None if args.stable is None else args.stable == "true"
    answer = triton(args) if args.client == "triton" else asyncio.run(kserve(args))
    print(json.dumps(answer, default=str))


if __name__ == "__main__":
    main()
