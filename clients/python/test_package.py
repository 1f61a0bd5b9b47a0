"""`pip install ./clients/python` offline into a fresh virtual environment, then an import from
outside the repository.

The environment is made with ``--system-site-packages``: setuptools before 70.1 needs the `wheel`
package to build, which Python's venv does not bring and PyPI (unreachable here) would; the base
interpreter's setuptools and wheel (Debian: python3-setuptools, python3-wheel) are used instead,
with ``--no-build-isolation --no-index``. The test checks the import comes from the environment.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CANDIDATES = [sys.executable, "/usr/bin/python3"]


def builder():
    """An interpreter that has venv, pip, setuptools and wheel, or None."""
    for python in CANDIDATES:
        if os.path.exists(python) and subprocess.run(
                [python, "-c", "import setuptools, wheel, venv, pip"], capture_output=True).returncode == 0:
            return python
    return None


class PipInstall(unittest.TestCase):
    def test_installs_offline_into_a_fresh_environment_and_imports_from_outside(self):
        python = builder()
        if python is None:
            self.skipTest("no interpreter with pip, setuptools and wheel (Debian: python3-pip python3-setuptools python3-wheel)")
        scratch = tempfile.mkdtemp(prefix="dtbridge-pip-")
        self.addCleanup(shutil.rmtree, scratch, True)
        source = os.path.join(scratch, "src")  # a copy, so the build leaves nothing in the repository
        os.makedirs(source)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(os.path.join(HERE, name), source)
        shutil.copytree(os.path.join(HERE, "dingtalk_bridge"), os.path.join(source, "dingtalk_bridge"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        env_dir = os.path.join(scratch, "venv")
        subprocess.run([python, "-m", "venv", "--system-site-packages", "--without-pip", env_dir], check=True)
        env_python = os.path.join(env_dir, "bin", "python")
        install = subprocess.run([env_python, "-m", "pip", "install", "--no-build-isolation", "--no-index", "-q", source],
                                 capture_output=True, text=True, env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
        self.assertEqual(install.returncode, 0, install.stdout[-2000:] + install.stderr[-2000:])
        probe = ("import dingtalk_bridge as d, sys\n"
                 "from dingtalk_bridge import AsyncBridgeClient, BridgeClient, Later, StreamHealth\n"
                 "print(d.__file__); print(d.__version__)")
        imported = subprocess.run([env_python, "-c", probe], cwd=scratch, capture_output=True, text=True,
                                  env={"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"})
        self.assertEqual(imported.returncode, 0, imported.stderr)
        where, version = imported.stdout.split()
        self.assertTrue(where.startswith(os.path.realpath(env_dir)) or where.startswith(env_dir), where)
        self.assertEqual(version, "0.3.1")


if __name__ == "__main__":
    unittest.main()
