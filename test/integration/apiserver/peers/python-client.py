"""Drive skiff's API server with the official Kubernetes Python client (Debian's python3-kubernetes).

usage: python-client.py KUBECONFIG MODE [ARGS...]; prints one JSON line per result.
  watch-from RV NAME   watch configmaps in default from RV until NAME is ADDED (timeout 20 s)
  watch-gone RV        watch from a compacted RV: prints the ApiException status
  list                 list namespaces (names)
  create-cm NAME       create a configmap in default; prints the status code or the ApiException status
"""
import json
import sys

from kubernetes import client, config, watch

kubeconfig, mode, *args = sys.argv[1:]
config.load_kube_config(config_file=kubeconfig)
v1 = client.CoreV1Api()


def out(**kw):
    print(json.dumps(kw), flush=True)


if mode == "watch-from":
    rv, name = args
    w = watch.Watch()
    for ev in w.stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=20):
        obj = ev["object"]
        out(type=ev["type"], name=obj.metadata.name, resourceVersion=obj.metadata.resource_version)
        if ev["type"] == "ADDED" and obj.metadata.name == name:
            w.stop()
elif mode == "watch-gone":
    (rv,) = args
    try:
        for ev in watch.Watch().stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=10):
            out(type=ev["type"])
        out(error=None)
    except client.rest.ApiException as e:
        out(error=e.status, reason=e.reason)
elif mode == "list":
    out(names=[n.metadata.name for n in v1.list_namespace().items])
elif mode == "create-cm":
    (name,) = args
    try:
        v1.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={"k": "v"}))
        out(status=201)
    except client.rest.ApiException as e:
        out(status=e.status, reason=e.reason)
else:
    raise SystemExit(f"unknown mode {mode}")
