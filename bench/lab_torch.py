"""Trains the bench's toy denoiser in PyTorch on the CPU; prints one JSON line (or serves rounds).

Same network as src/lab/diffusion/denoiser.ts: [x*c_in, c_noise] (3) -> 128 -> 128 -> 2, ReLU,
Adam(lr 1e-3), batch 1024, the EDM loss on two moons with inputs built on the host each step.
LAB_TORCH_DEVICE=cuda (scripts/gpu-check.sh) trains on the GPU; the batch is still built on the
host and copied each step, as the tfjs runs do.
"""
import json, math, os, sys, time
import torch

dev = torch.device(os.environ.get("LAB_TORCH_DEVICE", "cpu"))

torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(3, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 2))
net = net.to(dev)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
B, sd = 1024, 1.0

def batch():
    upper = torch.rand(B) < 0.5
    t = math.pi * torch.rand(B)
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t)) + 0.1 * torch.randn(B)
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t)) + 0.1 * torch.randn(B)
    x0 = torch.stack([(x - 0.5) / 0.87, (y - 0.25) / 0.5], 1)
    sigma = torch.exp(-1.2 + 1.2 * torch.randn(B, 1))
    xn = x0 + sigma * torch.randn(B, 2)
    v = sigma ** 2 + sd ** 2
    c_skip, c_out, c_in, c_noise = sd ** 2 / v, sigma * sd / v.sqrt(), 1 / v.sqrt(), sigma.log() / 4
    return torch.cat([c_in * xn, c_noise], 1).to(dev), ((x0 - c_skip * xn) / c_out).to(dev)

def step():
    inp, target = batch()
    opt.zero_grad()
    loss = ((net(inp) - target) ** 2).mean()
    loss.backward()
    opt.step()
    return loss.item()

def timed(n):
    t0 = time.perf_counter()
    for _ in range(n):
        last = step()
    dt = time.perf_counter() - t0
    return {"torch": torch.__version__, "device": str(dev), "threads": torch.get_num_threads(), "steps": n, "seconds": dt, "stepsPerSecond": n / dt, "loss": last}

for _ in range(10):
    step()
if len(sys.argv) > 1 and sys.argv[1] == "--serve":
    # One line in ("N"), one JSON line out, so the bench can interleave torch and tfjs rounds.
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        print(json.dumps(timed(int(line))), flush=True)
else:
    print(json.dumps(timed(int(sys.argv[1]) if len(sys.argv) > 1 else 300)))
