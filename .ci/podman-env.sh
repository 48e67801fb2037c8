# Sourced by the container scripts: podman with its own config and storage under build/,
# set up for this host (runc, cgroupfs, fixed rlimits), as DESIGN.md's "Containers here" says.
TOP=$(pwd)
mkdir -p "$TOP/build/containers"
cat > "$TOP/build/containers/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
cat > "$TOP/build/containers/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$TOP/build/containers/storage"
runroot = "$TOP/build/containers/run"
CONF
export CONTAINERS_CONF="$TOP/build/containers/containers.conf"
export CONTAINERS_STORAGE_CONF="$TOP/build/containers/storage.conf"
