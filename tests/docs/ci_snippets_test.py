#!/usr/bin/env python3
"""Runs the documented CI jobs as scripts, as written, so the docs cannot rot.

  ci_snippets_test.py SOURCE_DIR BUILD_DIR

Three jobs:
  readme   README.md's server-mode snippet (the ```sh block with
           `vkspay-conformance server --wait`), with the build's binaries on
           PATH as the README says.
  github   docs/ci.md's GitHub Actions job: every `run:` step in order, each
           with its `env:`, in one workspace.
  gitlab   docs/ci.md's GitLab CI job: its `variables:` and `script:` lines.

What stands in for the CI machine (nothing in the jobs' text is changed):
  - `actions/checkout` of vkspay-sandbox and GitLab's `git clone` of it link
    the source tree (so `scripts/build.sh` finds the finished build: the
    jobs' paths are vkspay-sandbox/build/..., hence BUILD_DIR must be
    SOURCE_DIR/build, else the test is skipped);
  - `apt-get` is a shim that records its arguments (no packages change);
  - "your app" (`./start-test-mode.sh`) is the project's reference handler,
    the correct one, serving the paths the jobs name and knowing exactly the
    `--order`s the merchant step passes.
Each job runs in fresh network and PID namespaces (unshare; fixed ports 8090
and 3000 cannot clash, and every process the job left in the background ends
with it). Where namespaces are not allowed, the jobs run in the host's
namespaces if those ports are free, else the test is skipped (exit 77) with
the reason. A job passes when every step exits 0, the JUnit files it keeps
exist and report no failures and its artifacts exist.
"""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import yaml

SKIP = 77
JOB_TIMEOUT_S = 180


def fail(msg):
    print("FAIL: " + msg)
    if WORKSPACES:
        print("(workspace kept: %s)" % WORKSPACES[-1])
    sys.exit(1)


def readme_snippet(src):
    text = open(os.path.join(src, "README.md"), encoding="utf-8").read()
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        if "vkspay-conformance server --wait" in block:
            return block
    fail("README.md has no ```sh block with `vkspay-conformance server --wait`")


def ci_md_yaml(src):
    text = open(os.path.join(src, "docs", "ci.md"), encoding="utf-8").read()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    if len(blocks) != 2:
        fail("docs/ci.md: expected 2 ```yaml blocks (GitHub Actions, GitLab CI), found %d"
             % len(blocks))
    return yaml.safe_load(blocks[0]), yaml.safe_load(blocks[1])


def merchant_orders(job):
    """The --order NO=YUAN values the job's merchant step passes."""
    text = yaml.safe_dump(job, width=float("inf"))
    return re.findall(r"--order\s+([A-Za-z0-9_-]+=[0-9.]+)", text.replace("\\\n", " "))


def write_exe(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


WORKSPACES = []


def make_workspace(src, build, orders):
    ws = tempfile.mkdtemp(prefix="vkspay-ci-snippets-")
    WORKSPACES.append(ws)
    shims = os.path.join(ws, ".shims")
    os.mkdir(shims)
    write_exe(os.path.join(shims, "apt-get"),
              '#!/bin/sh\necho "apt-get $*" >> "%s/.apt-get.log"\n' % ws)
    real_git = shutil.which("git") or "/usr/bin/git"
    # `git clone [flags] URL DIR` of vkspay-sandbox links the source tree.
    write_exe(os.path.join(shims, "git"), """#!/bin/bash
if [[ "$1" == clone && "$*" == *vkspay-sandbox* ]]; then
  ln -s "%s" "${@: -1}"; exit 0
fi
exec "%s" "$@"
""" % (src, real_git))
    # The checkout is a symlink to the source tree; CMake takes its source
    # path from $PWD (the logical path), so the jobs' `scripts/build.sh` would
    # re-point the build at the workspace and rebuild everything. The build
    # must see the physical path.
    real_cmake = shutil.which("cmake") or "/usr/bin/cmake"
    write_exe(os.path.join(shims, "cmake"),
              '#!/bin/sh\ncd "$(pwd -P)" || exit 1\nPWD=$(pwd -P) exec "%s" "$@"\n' % real_cmake)
    handler = os.path.join(build, "conformance", "vkspay-reference-handler")
    start = """#!/bin/sh
# Stands for the merchant's app in test mode: the correct reference handler on
# the port and paths docs/ci.md names, with the orders its merchant step passes.
exec "%s" --kind correct --host 127.0.0.1 --port 3000 --notify-path /pay/notify \\
  --state-path /test/order-state %s > "%s/.app.log" 2>&1
""" % (handler, " ".join("--order " + o for o in orders), ws)
    write_exe(os.path.join(ws, "start-test-mode.sh"), start)
    return ws, shims


def checkout(step, ws, src):
    w = step.get("with") or {}
    path = os.path.join(ws, w.get("path", "."))
    if w.get("repository", "").endswith("/vkspay-sandbox"):
        os.symlink(src, path)
    else:  # the merchant's own repository: its app
        os.makedirs(path, exist_ok=True)
        shutil.copy(os.path.join(ws, "start-test-mode.sh"), path)


def run_script(script, ws, env, name):
    log = os.path.join(ws, ".step-%s.log" % name)
    with open(log, "w") as out:
        # stdout to a file, not a pipe: what a step leaves in the background
        # keeps its output open.
        rc = subprocess.call(["bash", "-P", "-e", "-o", "pipefail", "-c", script], cwd=ws, env=env,
                             stdout=out, stderr=subprocess.STDOUT, timeout=JOB_TIMEOUT_S)
    if rc != 0:
        print(open(log, encoding="utf-8", errors="replace").read()[-4000:])
        for extra in ("sandbox.log", ".app.log"):
            p = os.path.join(ws, extra)
            if os.path.exists(p):
                print("--- %s" % extra)
                print(open(p, encoding="utf-8", errors="replace").read()[-2000:])
        fail("%s: exit %d:\n%s" % (name, rc, script))
    print("ok - %s" % name)


def check_junit(ws, pattern, job):
    files = glob.glob(os.path.join(ws, pattern))
    if not files:
        fail("%s: no %s written" % (job, pattern))
    for f in files:
        root = ET.parse(f).getroot()
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        tests = sum(int(s.get("tests", 0)) for s in suites)
        bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
        if tests == 0 or bad != 0:
            fail("%s: %s has %d tests, %d failures/errors" % (job, os.path.basename(f), tests, bad))
        print("ok - %s: %s, %d tests, no failures" % (job, os.path.basename(f), tests))


def base_env(shims):
    env = dict(os.environ)
    env["PATH"] = shims + ":" + env["PATH"]
    env.pop("VKSPAY_BASE_URL", None)
    return env


def job_readme(src, build):
    ws, shims = make_workspace(src, build, [])
    env = base_env(shims)
    # The README puts the build's binaries on PATH.
    env["PATH"] = ":".join(os.path.join(build, d) for d in ("sandbox", "conformance", "client")) \
        + ":" + env["PATH"]
    run_script(readme_snippet(src), ws, env, "readme: server-mode snippet")
    check_junit(ws, "conformance-server.xml", "readme")


def job_github(src, build):
    gh, _ = ci_md_yaml(src)
    job = gh["jobs"]["vkspay-conformance"]
    ws, shims = make_workspace(src, build, merchant_orders(job))
    artifacts = []
    for i, step in enumerate(job["steps"]):
        uses = step.get("uses", "")
        if uses.startswith("actions/checkout"):
            checkout(step, ws, src)
        elif uses.startswith("actions/upload-artifact"):
            artifacts += (step.get("with") or {}).get("path", "").split()
        elif "run" in step:
            env = base_env(shims)
            env.update({k: str(v) for k, v in (step.get("env") or {}).items()})
            run_script(step["run"], ws, env, "github: " + step.get("name", "step %d" % i))
        else:
            fail("github: step %d is neither a checkout, an artifact upload nor a run" % i)
    check_junit(ws, "conformance-server.xml", "github")
    check_junit(ws, "conformance-merchant.xml", "github")
    for pattern in artifacts:
        if not glob.glob(os.path.join(ws, pattern)):
            fail("github: artifact %s was not written" % pattern)
    print("ok - github: artifacts %s" % " ".join(artifacts))


def job_gitlab(src, build):
    _, gl = ci_md_yaml(src)
    job = gl["vkspay-conformance"]
    ws, shims = make_workspace(src, build, merchant_orders(job))
    env = base_env(shims)
    env.update({k: str(v) for k, v in (job.get("variables") or {}).items()})
    for i, line in enumerate(job["script"]):
        if not isinstance(line, str):  # e.g. an unquoted ": " made it a mapping
            fail("gitlab: script line %d is not a string in YAML (%r): quote it" % (i + 1, line))
    run_script("\n".join(job["script"]), ws, env, "gitlab: script")
    for f in job["artifacts"]["reports"]["junit"]:
        check_junit(ws, f, "gitlab")
    for pattern in job["artifacts"]["paths"]:
        if not glob.glob(os.path.join(ws, pattern)):
            fail("gitlab: artifact %s was not written" % pattern)
    print("ok - gitlab: artifacts %s" % " ".join(job["artifacts"]["paths"]))


JOBS = {"readme": job_readme, "github": job_github, "gitlab": job_gitlab}


def inner(job, src, build):
    """Runs one job; in its own namespaces when called through unshare."""
    if os.getpid() == 1:  # PID namespace: bring up the namespace's loopback
        subprocess.check_call(["ip", "link", "set", "lo", "up"])
    JOBS[job](src, build)
    cache = open(os.path.join(build, "CMakeCache.txt"), encoding="utf-8").read()
    if "vkspay_sandbox_SOURCE_DIR:STATIC=%s\n" % src not in cache:
        fail("%s: the job re-pointed the build at another source path (CMakeCache.txt)" % job)
    for ws in WORKSPACES:  # kept when the job failed (fail() exits first)
        shutil.rmtree(ws, ignore_errors=True)


def ports_free(ports):
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--job":
        inner(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    src, build = (os.path.realpath(p) for p in sys.argv[1:3])
    if os.path.realpath(os.path.join(src, "build")) != build:
        print("SKIP: the documented jobs use vkspay-sandbox/build/...; this build is %s" % build)
        sys.exit(SKIP)
    ns = ["unshare", "--net", "--pid", "--fork", "--kill-child"]
    use_ns = subprocess.call(ns + ["true"], stderr=subprocess.DEVNULL) == 0
    if not use_ns and not ports_free([8090, 3000]):
        print("SKIP: no network namespace (unshare refused) and port 8090 or 3000 is taken")
        sys.exit(SKIP)
    for job in JOBS:
        cmd = [sys.executable, os.path.abspath(__file__), "--job", job, src, build]
        if use_ns:
            rc = subprocess.call(ns + cmd, timeout=JOB_TIMEOUT_S + 30)
        else:
            p = subprocess.Popen(cmd, start_new_session=True)
            try:
                rc = p.wait(timeout=JOB_TIMEOUT_S + 30)
            finally:
                try:
                    os.killpg(p.pid, signal.SIGTERM)  # what the job left running
                except ProcessLookupError:
                    pass
        if rc != 0:
            sys.exit(1)
    print("ci snippets ok: %s%s" % (", ".join(JOBS), "" if use_ns else " (host namespaces)"))


if __name__ == "__main__":
    main()
