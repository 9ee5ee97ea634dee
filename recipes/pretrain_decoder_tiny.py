"""Pretrain the tiny llama-family decoder on the synthetic scene-description corpus.

The corpus pairs a caption with questions and answers about it, so the decoder learns to
answer from a description; in SP-VLM the temporal encoder's prefix tokens take the caption's
place and the decoder stays frozen.

    spjax train recipes/pretrain_decoder_tiny.py --workdir runs/decoder_tiny
"""

import ml_collections


def get_config():
    c = ml_collections.ConfigDict()
    c.task = "pretrain_decoder"
    c.seed = 0
    # concept_fraction: documents whose context is the labels' concept words (the SP-VLM's
    # concept tokens in text) instead of a caption.
    c.corpus = dict(n_documents=6000, seed=1234, size=32, frames=16, concept_fraction=0.5)
    c.model = dict(
        dim=128,
        n_layers=4,
        n_heads=4,
        n_kv_heads=2,
        hidden_dim=384,
        rope_theta=10000.0,
        max_seq_len=192,
        tie_embeddings=True,
    )
    c.optim = dict(lr=3e-3, warmup_steps=100, weight_decay=0.01, clip_norm=1.0)
    c.train = dict(
        steps=1200,
        batch_size=32,
        seq_len=160,
        log_every=50,
        eval_every=400,
        checkpoint_every=400,
        keep_checkpoints=2,
    )
    c.run = dict(wandb="disabled")
    return c
