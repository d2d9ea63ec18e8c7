#!/usr/bin/python
"""Build the app's release artifacts on the controller: a reproducible tarball and its locked wheels."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: app_release
short_description: Build the app's release tarball and the wheels of its lock file, on the controller
description:
  - Packs C(app/) and C(requirements/base.lock) of O(src) into a reproducible tarball (sorted entries,
    fixed owner, mode and time, no bytecode) named after the digest of its contents, and downloads the
    wheels that the lock file pins (hashes checked) for the target platform, named after
    the lock file's digest, packed into one tarball.
  - Idempotent: an artifact that already exists is not rebuilt. Meant for C(delegate_to: localhost).
options:
  src:
    description: Directory holding C(app/) and C(requirements/base.lock) (the repository root).
    type: path
    required: true
  dest:
    description: Directory for the artifacts (created if missing).
    type: path
    required: true
  python_version:
    description: Target Python as MAJOR.MINOR, for choosing wheels.
    type: str
    required: true
  platform:
    description: Target platform tag for binary wheels, e.g. C(manylinux2014_x86_64).
    type: str
    required: true
author: multidb-reference
"""

RETURN = r"""
version:
  description: The release name, the first 12 hex digits of the sha256 of the tarball's contents.
  type: str
  returned: always
archive:
  description: Path of the release tarball.
  type: str
  returned: always
lock_digest:
  description: The first 12 hex digits of the sha256 of requirements/base.lock.
  type: str
  returned: always
wheels_archive:
  description: The locked wheels as one uncompressed tarball (wheels are compressed already), for one transfer.
  type: str
  returned: always
"""

PACKED = ("app", "requirements/base.lock")
SKIPPED_DIRS = {"__pycache__"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "python_version": {"type": "str", "required": True},
            "platform": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    src, dest = module.params["src"], module.params["dest"]
    lock = os.path.join(src, "requirements", "base.lock")
    if not os.path.isdir(os.path.join(src, "app")) or not os.path.isfile(lock):
        module.fail_json(msg=f"{src} holds no app/ and requirements/base.lock; point app_source_dir at the repository")
    tar_bytes = _tarball(src)
    version = hashlib.sha256(tar_bytes).hexdigest()[:12]
    with open(lock, "rb") as handle:
        lock_digest = hashlib.sha256(handle.read()).hexdigest()[:12]
    archive = os.path.join(dest, f"release-{version}.tar.gz")
    platform, python = module.params["platform"], module.params["python_version"]
    wheels_archive = os.path.join(dest, f"wheels-{lock_digest}-cp{python.replace('.', '')}-{platform}.tar")
    changed = False
    if not os.path.isfile(archive):
        changed = True
        if not module.check_mode:
            _write_atomically(archive, gzip.compress(tar_bytes, mtime=0))
    if not os.path.isfile(wheels_archive):
        changed = True
        if not module.check_mode:
            _write_atomically(wheels_archive, _download_wheels(module, lock))
    module.exit_json(
        changed=changed, version=version, archive=archive, lock_digest=lock_digest, wheels_archive=wheels_archive
    )


def _tarball(src: str) -> bytes:
    """The packed paths as an uncompressed tar whose bytes depend only on file names, contents and x bits."""
    paths = []
    for entry in PACKED:
        top = os.path.join(src, entry)
        if os.path.isfile(top):
            paths.append(entry)
            continue
        for root, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            rel = os.path.relpath(root, src)
            paths.append(rel)
            paths.extend(os.path.join(rel, f) for f in files if not f.endswith(SKIPPED_SUFFIXES))
    return _tar(src, sorted(set(paths)))


def _download_wheels(module: AnsibleModule, lock: str) -> bytes:
    """pip download the locked wheels (hashes checked) for the target: a tar of them, then a .complete marker."""
    with tempfile.TemporaryDirectory(prefix="multidb-wheels-") as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--require-hashes", "--no-deps", "--only-binary=:all:",
            "--platform", module.params["platform"],
            "--python-version", module.params["python_version"],
            "--implementation", "cp",
            "--requirement", lock, "--dest", tmp,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - argv, no shell
        if result.returncode != 0:
            module.fail_json(msg="pip download of the locked wheels failed", cmd=command, stderr=result.stderr[-4000:])
        wheels = sorted(os.listdir(tmp))
        open(os.path.join(tmp, ".complete"), "w").close()
        return _tar(tmp, [*wheels, ".complete"])  # the marker last: unpacked only after every wheel


def _tar(base: str, paths: list[str]) -> bytes:
    """An uncompressed tar of `paths` (relative to `base`) with owner, time and modes normalized."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in paths:
            info = tar.gettarinfo(os.path.join(base, rel), arcname=rel)
            executable = info.isdir() or bool(info.mode & 0o100)
            info.mode = 0o755 if executable else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            info.pax_headers = {}
            if info.isfile():
                with open(os.path.join(base, rel), "rb") as handle:
                    tar.addfile(info, handle)
            elif info.isdir():
                tar.addfile(info)
    return buffer.getvalue()


def _write_atomically(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
