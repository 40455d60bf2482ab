"""ML Notes Python kernel: runs one snippet of a note.

    python -u python_kernel.py CODE_FILE

Also launched once per rank by ``python -m torch.distributed.run`` for ``{run torchrun nproc=N}``
blocks. Events for the runner go to stdout as lines starting with the marker below; everything
else the snippet prints stays plain text. Matplotlib figures (``plt.show()``, ``savefig`` or
left open at the end) become images in the preview: the runner sets a non-interactive backend.

The snippet can ``import mlnotes`` for the chosen device and to report metrics::

    import mlnotes
    x = x.to(mlnotes.device)          # torch.device from the setting mlNotes.python.device
    mlnotes.metric("loss", loss.item(), step)
"""
import base64
import io
import json
import math
import os
import signal
import sys
import threading
import time
import traceback
import types

MARKER = "\x1eMLN "
SNIPPET = "<snippet>"
RANK = os.environ.get("RANK")
IS_MAIN_RANK = RANK in (None, "", "0")


def _wire(value):
    """JSON has no NaN/Infinity: they travel as strings the runner reads back (a diverging loss keeps its points)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    return value


def emit(event):
    sys.stdout.write(MARKER + json.dumps(_wire(event), allow_nan=False) + "\n")
    sys.stdout.flush()


def _watch_parent():
    """Ends the run when the runner that started it dies (an editor crash must not leave a
    training run holding the GPU). Polls: the kernel may be a torchrun rank, whose parent is
    torchrun, so the runner's pid is checked as well as this process's own parent."""
    host = int(os.environ.get("MLNOTES_PARENT_PID", "0") or 0)
    if host <= 0:
        return
    start_ppid = os.getppid()

    def gone():
        if os.getppid() != start_ppid:
            return True
        try:
            os.kill(host, 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass  # exists, owned by someone we may not signal
        return False

    def loop():
        while True:
            time.sleep(0.5)
            if gone():
                if os.environ.get("MLNOTES_OWN_GROUP") == "1" and hasattr(os, "killpg"):
                    try:
                        os.killpg(os.getpgrp(), signal.SIGKILL)
                    except OSError:
                        pass
                os._exit(137)

    threading.Thread(target=loop, name="mlnotes-parent-watchdog", daemon=True).start()


def _resolve_device():
    wanted = os.environ.get("MLNOTES_DEVICE", "auto")
    import torch

    if wanted == "cuda" or (wanted == "auto" and torch.cuda.is_available()):
        local = int(os.environ.get("LOCAL_RANK", "0"))
        index = local % max(1, torch.cuda.device_count())
        return torch.device("cuda", index)
    mps = getattr(torch.backends, "mps", None)
    if wanted == "mps" or (wanted == "auto" and mps is not None and mps.is_available()):
        return torch.device("mps")
    return torch.device("cpu")


def _make_helper_module():
    mod = types.ModuleType("mlnotes")
    mod.__doc__ = "Helpers the ML Notes runner gives snippets."
    state = {}

    def __getattr__(name):
        if name == "device":
            if "device" not in state:
                state["device"] = _resolve_device()
            return state["device"]
        raise AttributeError(name)

    def metric(name, value, step=None):
        if IS_MAIN_RANK:
            event = {"type": "metric", "name": str(name), "value": float(value)}
            if step is not None:
                event["step"] = float(step)
            emit(event)

    def progress(fraction=None, message=None):
        if IS_MAIN_RANK:
            emit({"type": "progress", "fraction": fraction, "message": message})

    def table(columns, rows, title=None):
        if IS_MAIN_RANK:
            emit({"type": "table", "columns": [str(c) for c in columns], "rows": [[c if isinstance(c, (int, float)) else str(c) for c in r] for r in rows][:500], "title": title})

    mod.__getattr__ = __getattr__
    mod.metric = metric
    mod.progress = progress
    mod.table = table
    mod.rank = int(RANK) if RANK not in (None, "") else 0
    mod.world_size = int(os.environ.get("WORLD_SIZE", "1"))
    return mod


def _emit_figure(fig):
    # Marked on the figure itself: id() values are reused once a closed figure is freed, which
    # made figures shown in a loop disappear.
    if not IS_MAIN_RANK or getattr(fig, "_mlnotes_emitted", False):
        return
    fig._mlnotes_emitted = True
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    title = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else None
    emit({"type": "image", "mime": "image/png", "data": base64.b64encode(buf.getvalue()).decode("ascii"), "title": title})


def _install_matplotlib_hooks():
    """Figures reach the preview without the snippet changing: show() and savefig() emit them."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    def show(*_args, **_kwargs):
        for num in plt.get_fignums():
            fig = plt.figure(num)
            _emit_figure(fig)
        plt.close("all")

    original_savefig = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        result = original_savefig(self, fname, *args, **kwargs)
        if not isinstance(fname, io.IOBase) and not hasattr(fname, "write"):
            _emit_figure(self)
        return result

    plt.show = show
    Figure.savefig = savefig
    return plt


def _snippet_line(tb):
    line = None
    for frame in traceback.extract_tb(tb):
        if frame.filename == SNIPPET:
            line = frame.lineno
    return line


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: python_kernel.py CODE_FILE\n")
        return 2
    _watch_parent()
    with open(sys.argv[1], encoding="utf-8") as f:
        source = f.read()
    sys.modules["mlnotes"] = _make_helper_module()
    # The snippet runs with the note's folder as working directory and on sys.path.
    sys.path.insert(0, os.getcwd())
    sys.argv = [SNIPPET] + sys.argv[2:]
    if IS_MAIN_RANK:
        emit({"type": "backend", "backend": "python", "device": os.environ.get("MLNOTES_DEVICE_LABEL", os.environ.get("MLNOTES_DEVICE", "auto")), "detail": sys.version.split()[0]})
    try:
        code = compile(source, SNIPPET, "exec")
    except SyntaxError as e:
        emit({"type": "error", "message": "SyntaxError: %s" % e.msg, "errorType": "SyntaxError", "line": e.lineno, "stack": traceback.format_exc(limit=0)})
        return 1
    plt = None
    if "matplotlib" in source or "plt" in source:
        plt = _install_matplotlib_hooks()
    namespace = {"__name__": "__main__", "__file__": SNIPPET, "__builtins__": __builtins__}
    try:
        exec(code, namespace)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except KeyboardInterrupt:
        return 130
    except BaseException as e:  # noqa: BLE001 - every failure is reported, then the run fails
        tb = e.__traceback__
        frames = [fr for fr in traceback.extract_tb(tb) if fr.filename != __file__]
        stack = "".join(traceback.format_list(frames)) + "".join(traceback.format_exception_only(type(e), e))
        prefix = "" if IS_MAIN_RANK else "[rank %s] " % RANK
        emit({"type": "error", "message": prefix + "".join(traceback.format_exception_only(type(e), e)).strip(), "errorType": type(e).__name__, "line": _snippet_line(tb), "stack": stack})
        return 1
    finally:
        if plt is not None:
            try:
                for num in plt.get_fignums():
                    _emit_figure(plt.figure(num))
            except Exception:  # noqa: BLE001 - a broken figure must not hide the snippet's result
                pass
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
