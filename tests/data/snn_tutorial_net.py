"""An snntorch network written the way the snntorch tutorials write it (tutorial 5): the time loop is
inside ``forward`` and the input is ``[batch, features]``. Used by tests/test_snn_calling.py."""

import torch
import torch.nn as nn
import snntorch as snn

NUM_STEPS = 25
BATCH = 16


class TutorialNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.lif1 = snn.Leaky(beta=0.95)
        self.fc2 = nn.Linear(256, 10)
        self.lif2 = snn.Leaky(beta=0.95)

    def forward(self, x):
        mem1 = self.lif1.init_leaky()
        mem2 = self.lif2.init_leaky()
        spk1_rec, spk2_rec = [], []
        for _ in range(NUM_STEPS):
            cur1 = self.fc1(x)
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = self.fc2(spk1)
            spk2, mem2 = self.lif2(cur2, mem2)
            spk1_rec.append(spk1)
            spk2_rec.append(spk2)
        self.spk1_rec = torch.stack(spk1_rec)
        return torch.stack(spk2_rec), mem2


def build():
    torch.manual_seed(0)
    return TutorialNet(), torch.rand(BATCH, 784) * 2
