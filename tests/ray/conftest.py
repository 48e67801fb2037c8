"""Contract (the tiny bucket): a real object store and a real multi-node Ray, both on this machine,
for `score --ray`.

- ``s3``: moto in its server mode (the S3 test server of s3fs and pyarrow) in its own process on
  a free port, with IAM on: a user whose key may do anything in S3, so that a wrong secret is
  refused as a real bucket refuses it. Credentials and endpoint reach the code as AWS_* variables.
- ``cluster``: ray.cluster_utils.Cluster, a head with no CPUs (it schedules, as a KubeRay head
  does) and two workers of 2 logical CPUs each: one scoring actor and the read tasks per node.
"""
import json
import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server_process import free_port
from tests.wait import wait_for

REGION = "us-east-1"
# Every Ray these tests start (the cluster's nodes, and a `score --ray` that starts its own) starts
# its workers when a task or actor needs one: by default a raylet starts one a CPU for each new
# driver, and the tests' dozen drivers paid about 30 CPU-s (of the suite's 170) for workers never used.
for _name in ("RAY_prestart_worker_first_driver", "RAY_enable_worker_prestart"):
    os.environ.setdefault(_name, "0")


@dataclass
class S3:
    url: str
    env: dict  # the AWS_* variables of a user allowed everything in S3
    log_path: object  # the server's access log: one line per request

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"])

    def put(self, bucket, files):
        """Create ``bucket`` (if new) and put {key: bytes} in it."""
        client = self.client()
        if bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
            client.create_bucket(Bucket=bucket)
        for key, data in files.items():
            client.put_object(Bucket=bucket, Key=key, Body=data)


def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


@contextmanager
def s3_server(folder):
    """A moto S3 server with IAM on, in its own process on a free port: the S3 of its user."""
    import boto3

    port = free_port()
    Path(folder).mkdir(parents=True, exist_ok=True)
    log_path = Path(folder) / "moto.log"
    log = open(log_path, "wb")
    # Three calls go unchecked (the user, its key, its policy); every later call is signed and checked.
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: accepts(port), "the moto server to accept connections", timeout=30,
                 unless=lambda: server.poll() is not None)
        iam = boto3.client("iam", endpoint_url=url, region_name=REGION, aws_access_key_id="setup",
                           aws_secret_access_key="setup")  # noqa: S106 -- the local moto server's
        iam.create_user(UserName="lab")
        key = iam.create_access_key(UserName="lab")["AccessKey"]
        iam.put_user_policy(UserName="lab", PolicyName="s3", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        yield S3(url, {"AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
                       "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]},
                 log_path)
    finally:
        server.terminate()
        server.wait(10)
        log.close()


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    with s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(scope="session")
def cluster(s3):
    """The address of a Ray of three nodes: a head that only schedules, two workers. The nodes
    hold the S3 user's credentials in their own environment, as a RayJob's pods do (envFrom):
    `score --ray` passes the workers no secret."""
    from ray.cluster_utils import Cluster

    saved = {name: os.environ.get(name) for name in s3.env}
    os.environ.update(s3.env)  # inherited by the node processes started now, and their workers
    try:
        ray_cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
        workers = [ray_cluster.add_node(num_cpus=2) for _ in range(2)]
        ray_cluster.wait_for_nodes()
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    try:
        yield ray_cluster, workers
    finally:
        ray_cluster.shutdown()


def read_parquet(uri, s3=None):
    """The rows of a Parquet output folder: a path, or an s3:// URI on the server ``s3``."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    if s3 is None:
        return pq.read_table(str(uri)).to_pylist()
    fs = pafs.S3FileSystem(access_key=s3.env["AWS_ACCESS_KEY_ID"], secret_key=s3.env["AWS_SECRET_ACCESS_KEY"],
                           endpoint_override=s3.url, region=REGION)
    return pq.read_table(str(uri).removeprefix("s3://"), filesystem=fs).to_pylist()
