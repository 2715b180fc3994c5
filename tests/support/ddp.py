"""A DistributedDataParallel worker for tests/test_from_torch.py: two processes (gloo, on the
loopback) train one step of a small network whose backward pass is symgrad's generated code
(``as_module``), each on its half of the batch; rank 0 saves the averaged gradients."""

from __future__ import annotations

import os


def network():
    """The network, its loss function, and the whole batch (the same in every process)."""
    import torch
    import torch.nn as nn

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    criterion = nn.MSELoss()

    def loss_fn(x, y):
        prediction = net(x)
        return criterion(prediction, y)

    x = torch.randn(8, 3, dtype=torch.float64)
    y = torch.randn(8, 2, dtype=torch.float64)
    net.double()
    return net, loss_fn, x, y


def worker(rank: int, world: int, port: int, output: str) -> None:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    import symgrad

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        _, loss_fn, x, y = network()
        half = slice(rank * 4, rank * 4 + 4)
        m = symgrad.from_torch(loss_fn, {"x": x[half], "y": y[half]})
        module = symgrad.compile(symgrad.derive(m), "torch").as_module()
        ddp = DistributedDataParallel(module)
        loss = ddp(x=x[half], y=y[half])
        loss.backward()
        if rank == 0:
            torch.save({n: p.grad for n, p in module.named_parameters()}, output)
        # both ranks done before either tears gloo down: a rank that destroys its group while
        # the other is still in flight can abort in gloo's C++ ("terminate called without an
        # active exception", seen once in CI's slow run)
        dist.barrier()
    finally:
        dist.destroy_process_group()
