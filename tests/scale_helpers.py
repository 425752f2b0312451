"""Tiny HuggingFace models saved to disk, and tiny factories, for the corpus / Dask tests (not a test file)."""

from __future__ import annotations

from pathlib import Path
import re

__all__ = ["CHAR_FACTORY", "make_hf_dir", "write_factory"]


def _words(texts: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for t in texts:
        for w in re.findall(r"\w+|[^\w\s]", t.lower()):
            seen.setdefault(w, None)
    return list(seen)


def make_hf_dir(path: Path, *, kind: str = "llama", layers: int = 2, hidden: int = 32, intermediate: int = 64,
                heads: int = 4, seed: int = 0, texts: list[str] | None = None) -> Path:
    """Save a seeded tiny BERT or Llama with a word-level tokenizer (vocabulary from ``texts``) to ``path``."""
    import tokenizers
    import torch
    import transformers

    from neurosim.analysis.corpus import load_corpus

    words = _words(list(texts) if texts is not None else list(load_corpus().texts))
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, **{w: i + 4 for i, w in enumerate(words)}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = tokenizers.normalizers.Lowercase()
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                                cls_token="[CLS]", sep_token="[SEP]")
    torch.manual_seed(seed)
    common = dict(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                  intermediate_size=intermediate, max_position_embeddings=512)
    if kind == "bert":
        model = transformers.BertModel(transformers.BertConfig(**common))
    else:
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(num_key_value_heads=max(1, heads // 2),
                                                                       **common))
    path.mkdir(parents=True, exist_ok=True)
    model.eval().save_pretrained(path)
    fast.save_pretrained(path)
    return path


#: A factory module: a per-token MLP over embeddings (no attention, so a token's values never depend on
#: the other tokens of its batch) and a character tokenizer that drops characters outside a-z and space.
CHAR_FACTORY = '''
import torch


class CharTokenizer:
    def __call__(self, texts):
        ids = [[ord(c) - 96 if "a" <= c <= "z" else 27 for c in t.lower() if c.isalpha() and c.isascii() or c == " "]
               for t in texts]
        n = max(1, max(len(i) for i in ids))
        return {"input_ids": torch.tensor([i + [0] * (n - len(i)) for i in ids]),
                "attention_mask": torch.tensor([[1] * len(i) + [0] * (n - len(i)) for i in ids])}


class TokenMLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(28, 24)
        self.up = torch.nn.Linear(24, 48)
        self.down = torch.nn.Linear(48, 24)
        self.head = torch.nn.Linear(24, 28)

    def forward(self, input_ids, attention_mask=None):
        h = self.emb(input_ids)
        h = h + self.down(torch.relu(self.up(h)))
        return self.head(h)


def make():
    torch.manual_seed(7)
    return TokenMLP().double(), CharTokenizer()
'''


def write_factory(folder: Path) -> str:
    """Write :data:`CHAR_FACTORY` to ``folder/char_model.py``; returns the ``FILE:make`` spec."""
    f = folder / "char_model.py"
    f.write_text(CHAR_FACTORY)
    return f"{f}:make"
