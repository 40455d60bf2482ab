"""ML Notes: starts an ipykernel for one note.

    python jupyter_launcher.py -f CONNECTION_FILE

The kernel is ipykernel's own (``ipykernel_launcher``); this wrapper adds what ML Notes needs
around it, before handing over:

- the runner's parent watchdog (python_kernel.py's): ipykernel's own parent poller only notices
  a parent that died when it is re-parented to pid 1, which a subreaper (systemd --user, a
  container's init, tini) defeats; the runner's watchdog also checks the runner's pid;
- the ``mlnotes`` helper module (device, metric, table), the same one process-per-run blocks get;
- matplotlib's inline backend; the runner points MATPLOTLIBRC at ``matplotlibrc`` next to this
  file, which puts a CJK font first (Chinese titles otherwise show as boxes) without importing
  matplotlib at start.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    sys.path.insert(0, HERE)
    import python_kernel  # noqa: E402 - the shared watchdog and helper module

    sys.path.remove(HERE)
    python_kernel._watch_parent()
    sys.modules["mlnotes"] = python_kernel._make_helper_module()
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # The note's folder is the working directory; like `python script.py`, it is on sys.path.
    sys.path.insert(0, os.getcwd())
    from ipykernel import kernelapp

    app = kernelapp.IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    app.start()


if __name__ == "__main__":
    main()
