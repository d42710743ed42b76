"""Server-side apply of a ConfigMap with the official Python client (python3-kubernetes 22.6) as manager NAME,
optionally forced; prints the result (or the API error's status and body) as one JSON line.
Its generated CoreV1Api cannot choose the apply content type and its REST layer sends only string bodies
with it (fixed in later releases), so this goes through the client's own ApiClient.call_api with the body
as text, which is what those releases do."""
import json
import sys

from kubernetes import config
from kubernetes.client.exceptions import ApiException

kubeconfig, manager, force, body = sys.argv[1], sys.argv[2], sys.argv[3] == "force", json.loads(sys.argv[4])
client = config.new_client_from_config(config_file=kubeconfig)
query = [("fieldManager", manager)] + ([("force", "true")] if force else [])
try:
    obj = client.call_api(
        "/api/v1/namespaces/{namespace}/configmaps/{name}",
        "PATCH",
        path_params={"namespace": body["metadata"]["namespace"], "name": body["metadata"]["name"]},
        query_params=query,
        header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
        body=json.dumps(body),
        response_type="V1ConfigMap",
        auth_settings=["BearerToken"],
        _return_http_data_only=True,
    )
    print(json.dumps({"object": client.sanitize_for_serialization(obj)}))
except ApiException as e:
    print(json.dumps({"status": e.status, "body": json.loads(e.body)}))
