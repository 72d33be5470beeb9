"""TransformersModel on a tiny randomly initialised model built on the spot (no downloads).

This is the one test allowed to skip: it needs torch and transformers (the optional
`sandcell[transformers]` extra), which CI does not install.
"""
import pytest

torch = pytest.importorskip("torch", reason="TransformersModel needs torch (optional extra, not installed in CI)")
transformers = pytest.importorskip("transformers", reason="TransformersModel needs transformers (optional extra)")


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("tiny-gpt2")
    vocab = {w: i for i, w in enumerate(["<unk>", "<eos>", "hello", "world", "user:", "assistant:", "x", "="])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>")
    fast.save_pretrained(path)
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=len(vocab), n_positions=64, n_embd=16, n_layer=1, n_head=2,
                               eos_token_id=1, bos_token_id=1)).save_pretrained(path)
    return str(path)


def test_generates_text_with_token_usage(tiny_model_dir):
    from agent import TransformersModel

    model = TransformersModel(tiny_model_dir, max_new_tokens=5, do_sample=False)
    msg = model.generate([{"role": "user", "content": "hello world"}])
    assert isinstance(msg.content, str)
    assert msg.token_usage.input_tokens > 0 and 0 < msg.token_usage.output_tokens <= 5
    assert not model.supports_native_tools


def test_generate_stream_yields_tokens_and_usage(tiny_model_dir):
    from agent import TransformersModel, agglomerate_stream_deltas

    model = TransformersModel(tiny_model_dir, max_new_tokens=5, do_sample=False)
    deltas = list(model.generate_stream([{"role": "user", "content": "hello world"}]))
    msg = agglomerate_stream_deltas(deltas)
    whole = model.generate([{"role": "user", "content": "hello world"}])
    assert (msg.content or "") == (whole.content or "")
    assert msg.token_usage == whole.token_usage
