"""Embedded llama.cpp engine: any GGUF file, run in-process in worker threads.

Each slot is its own `llama_cpp.Llama` context (the weights are memory-mapped once by the OS
and shared), driven by its own single thread, so a slot's KV cache and prefix reuse stay
intact and the event loop never blocks. Generated tokens travel to the event loop through an
`asyncio.Queue`; closing the stream sets a flag that the worker checks after every token.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
import random
import threading
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from aicommons.engines.base import (
    Engine,
    Finish,
    GenerationRequest,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    ModelSpec,
    SamplingParams,
    StreamEvent,
    TextChunk,
    Usage,
    move_trailing_space,
)
from aicommons.engines.llamacpp_options import LlamaCppOptions
from aicommons.engines.llamacpp_scoring import (
    TokenPair,
    fit_to_window,
    open_scoring_context,
    score_pairs,
    split_by_context,
)
from aicommons.engines.stops import StopMatcher
from aicommons.errors import ConfigError, EngineUnavailableError, InvalidRequestError

logger = logging.getLogger(__name__)

DEFAULT_CONTEXT = 2048


def resolve_model_path(options: Mapping[str, Any]) -> Path:
    """Find the GGUF file named by ``path``, ``package`` + ``file``, or ``hf_repo`` + ``file``."""
    if "path" in options:
        path = Path(str(options["path"])).expanduser()
    elif "package" in options:
        path = Path(str(resources.files(str(options["package"])) / str(options["file"])))
    elif "hf_repo" in options:
        try:
            from huggingface_hub import hf_hub_download
        except ImportError as exc:
            raise ConfigError("hf_repo needs huggingface_hub: pip install huggingface_hub") from exc
        path = Path(hf_hub_download(repo_id=str(options["hf_repo"]), filename=str(options["file"])))
    else:
        raise ConfigError("a llamacpp model needs 'path', 'package' + 'file' or 'hf_repo' + 'file'")
    if not path.is_file():
        raise ConfigError(f"GGUF file not found: {path}")
    return path


@dataclass(slots=True)
class _Slot:
    llm: Any
    executor: ThreadPoolExecutor
    scoring: Any = None  # the slot's log-likelihood context, opened on first use


_DONE = object()
R = TypeVar("R")


class LlamaCppEngine(Engine):
    """Chat and text completion over a GGUF model with a fixed number of parallel slots."""

    can_chat: ClassVar[bool] = True
    can_complete: ClassVar[bool] = True
    can_stream: ClassVar[bool] = True
    can_loglikelihood: ClassVar[bool] = True
    Options = LlamaCppOptions

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        options = spec.options
        self._num_slots = int(options.get("slots", 1))
        if self._num_slots < 1:
            raise ConfigError(f"model {spec.name}: slots must be at least 1")
        self._n_ctx = int(options.get("n_ctx", DEFAULT_CONTEXT))
        cpus = os.cpu_count() or 1
        self._n_threads = int(options.get("n_threads", max(1, cpus // self._num_slots)))
        self._n_batch = int(options.get("n_batch", 512))
        self._model_path: Path | None = None
        self._tokenizer: Any = None
        self._formatter: Any = None
        self._slots: list[_Slot] = []
        self._free: asyncio.Queue[_Slot] = asyncio.Queue()

    @property
    def context_length(self) -> int:
        return self._n_ctx

    @property
    def concurrency(self) -> int:
        return self._num_slots

    @property
    def free_slots(self) -> int:
        return self._free.qsize()

    @property
    def model_path(self) -> Path | None:
        return self._model_path

    async def start(self) -> None:
        self._model_path = resolve_model_path(self.spec.options)
        await asyncio.to_thread(self._load)
        for slot in self._slots:
            self._free.put_nowait(slot)
        logger.info(
            "loaded %s from %s: %d slot(s), n_ctx=%d, %d thread(s) each",
            self.spec.name,
            self._model_path,
            self._num_slots,
            self._n_ctx,
            self._n_threads,
        )

    def _load(self) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        path = str(self._model_path)
        self._tokenizer = Llama(path, vocab_only=True, verbose=False)
        for _ in range(self._num_slots):
            llm = Llama(
                path,
                n_ctx=self._n_ctx,
                n_threads=self._n_threads,
                n_threads_batch=self._n_threads,
                n_batch=self._n_batch,
                verbose=False,
            )
            executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"llama-{self.spec.name}"
            )
            self._slots.append(_Slot(llm=llm, executor=executor))
        template = self._tokenizer.metadata.get("tokenizer.chat_template")
        if template:
            vocab = self._tokenizer._model
            bos, eos = self._tokenizer.token_bos(), self._tokenizer.token_eos()
            self._formatter = Jinja2ChatFormatter(
                template=template,
                bos_token=vocab.token_get_text(bos) if bos != -1 else "",
                eos_token=vocab.token_get_text(eos) if eos != -1 else "",
            )

    async def close(self) -> None:
        for slot in self._slots:
            slot.executor.shutdown(wait=True, cancel_futures=True)
            if slot.scoring is not None:
                slot.scoring.close()
            slot.llm.close()
        if self._tokenizer is not None:
            self._tokenizer.close()
        self._slots.clear()

    def gguf_metadata(self) -> dict[str, str]:
        """The GGUF file's key-value metadata (empty before `start`)."""
        return dict(self._tokenizer.metadata) if self._tokenizer is not None else {}

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "slots": self._num_slots,
            "file": self._model_path.name if self._model_path else None,
        }

    # -- prompts -------------------------------------------------------------------------

    def _prompt_tokens(self, request: GenerationRequest) -> list[int]:
        """Render the chat template (or take the raw prompt) and tokenize it."""
        tokenizer = self._tokenizer
        if request.messages is not None:
            if self._formatter is None:
                raise InvalidRequestError(
                    f"model {self.spec.name} has no chat template; use /v1/completions",
                    param="model",
                )
            messages = [{"role": m.role, "content": m.content} for m in request.messages]
            rendered = self._formatter(messages=messages)
            tokens: list[int] = tokenizer.tokenize(
                rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
            )
            return tokens
        prompt = request.prompt or ""
        return list(tokenizer.tokenize(prompt.encode("utf-8"), add_bos=True, special=False))

    async def count_prompt_tokens(self, request: GenerationRequest) -> int:
        return len(await asyncio.to_thread(self._prompt_tokens, request))

    def _check_context(self, request: GenerationRequest, num_prompt: int) -> int:
        """Return how many tokens may be generated, or raise a 400 naming the culprit."""
        param = "messages" if request.is_chat else "prompt"
        if num_prompt >= self._n_ctx:
            raise InvalidRequestError(
                f"This model's maximum context length is {self._n_ctx} tokens, but your "
                f"{param} resulted in {num_prompt} tokens. Shorten the {param}.",
                param=param,
                code="context_length_exceeded",
            )
        room = self._n_ctx - num_prompt
        wanted = request.sampling.max_tokens
        if wanted is None:
            return room
        if wanted > room:
            raise InvalidRequestError(
                f"max_tokens is {wanted}, but the model's context of {self._n_ctx} tokens "
                f"leaves room for {room} after the {num_prompt} prompt tokens. "
                f"Ask for at most {room}.",
                param="max_tokens",
                code="context_length_exceeded",
            )
        return wanted

    # -- log-likelihood --------------------------------------------------------------------

    async def loglikelihood(
        self, requests: list[LoglikelihoodRequest]
    ) -> list[LoglikelihoodResult]:
        """Score on every slot at once; requests sharing a context go to the same slot."""
        if not self._slots:
            raise EngineUnavailableError(f"model {self.spec.name} is not loaded")
        if not requests:
            return []
        pairs = await asyncio.to_thread(self._encode_pairs, requests)
        order = sorted(range(len(pairs)), key=lambda i: pairs[i])
        results: list[LoglikelihoodResult | None] = [None] * len(pairs)

        async def run(indices: list[int]) -> None:
            chunk = [pairs[i] for i in indices]
            scored = await self._in_slot(_score_on_slot, chunk, self._n_batch)
            for i, result in zip(indices, scored, strict=True):
                results[i] = result

        chunks = split_by_context(order, pairs, self._num_slots)
        await asyncio.gather(*(run(chunk) for chunk in chunks))
        done = [r for r in results if r is not None]
        if len(done) != len(requests):  # pragma: no cover - a bug in the chunking
            raise RuntimeError("log-likelihood chunks lost requests")
        return done

    def _encode_pairs(self, requests: list[LoglikelihoodRequest]) -> list[TokenPair]:
        """lm-eval's `_encode_pair`: whole text tokenised, split at the context's length."""
        tokenizer = self._tokenizer
        prefix = tokenizer.token_bos()
        if prefix == -1:
            prefix = tokenizer.token_eos()
        pairs: list[TokenPair] = []
        for request in requests:
            context, continuation = move_trailing_space(request.context, request.continuation)
            whole = tokenizer.tokenize((context + continuation).encode("utf-8"), add_bos=False)
            if context:
                context_tokens = tokenizer.tokenize(context.encode("utf-8"), add_bos=False)
                continuation_tokens = whole[len(context_tokens) :]
            else:  # nothing to condition on: start from the prefix token, as lm-eval does
                context_tokens, continuation_tokens = [prefix], whole
            if not continuation_tokens:
                raise InvalidRequestError("a continuation to score must not be empty")
            if len(continuation_tokens) >= self._n_ctx:
                raise InvalidRequestError(
                    f"a continuation of {len(continuation_tokens)} tokens does not fit the "
                    f"model's context of {self._n_ctx} tokens"
                )
            context_tokens = fit_to_window(context_tokens, continuation_tokens, self._n_ctx)
            pairs.append((context_tokens, continuation_tokens))
        return pairs

    async def _in_slot(self, work: Callable[..., R], *args: Any) -> R:
        """Run ``work(slot, *args)`` on a free slot's own thread."""
        loop = asyncio.get_running_loop()
        slot = await self._free.get()
        future = slot.executor.submit(work, slot, *args)
        future.add_done_callback(self._release_when_done(slot, loop))
        return await asyncio.wrap_future(future)

    # -- generation ------------------------------------------------------------------------

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamEvent, None]:
        wanted = request.sampling.max_tokens
        if wanted is not None and wanted >= self._n_ctx:
            raise InvalidRequestError(
                f"max_tokens is {wanted}, but the model's whole context is {self._n_ctx} "
                f"tokens, prompt included. Ask for fewer.",
                param="max_tokens",
                code="context_length_exceeded",
            )
        if not self._slots:
            raise EngineUnavailableError(f"model {self.spec.name} is not loaded")
        prompt = await asyncio.to_thread(self._prompt_tokens, request)
        max_new = self._check_context(request, len(prompt))

        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        cancel = threading.Event()
        slot = await self._free.get()

        def emit(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        future = slot.executor.submit(
            _generate_in_thread, slot.llm, prompt, max_new, request.sampling, emit, cancel
        )
        future.add_done_callback(self._release_when_done(slot, loop))
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, TextChunk | Finish)
                yield item
        finally:
            cancel.set()

    def _release_when_done(
        self, slot: _Slot, loop: asyncio.AbstractEventLoop
    ) -> Callable[[Future[Any]], None]:
        def release(_: Future[Any]) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._free.put_nowait, slot)

        return release


def _score_on_slot(slot: _Slot, pairs: list[TokenPair], n_batch: int) -> list[LoglikelihoodResult]:
    """Score in the slot's thread, on its scoring context (opened here on first use)."""
    if slot.scoring is None:
        slot.scoring = open_scoring_context(slot.llm)
    return score_pairs(slot.llm, slot.scoring, pairs, n_batch)


def _is_end_of_generation(llm: Any, token: int) -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_vocab_is_eog(llm._model.vocab, token))


def _generate_in_thread(
    llm: Any,
    prompt: Sequence[int],
    max_new: int,
    sampling: SamplingParams,
    emit: Callable[[object], None],
    cancel: threading.Event,
) -> None:
    """Run in the slot's thread: sample up to ``max_new`` tokens and emit chunks."""
    try:
        usage = Usage(prompt_tokens=len(prompt))
        reason = _sample_tokens(llm, prompt, max_new, sampling, emit, cancel, usage)
        emit(Finish(reason=reason, usage=usage))
    except Exception as exc:  # translated and re-raised on the event loop side
        logger.exception("llama.cpp generation failed")
        emit(EngineUnavailableError(f"generation failed: {exc}"))
    finally:
        emit(_DONE)


def _sample_tokens(
    llm: Any,
    prompt: Sequence[int],
    max_new: int,
    sampling: SamplingParams,
    emit: Callable[[object], None],
    cancel: threading.Event,
    usage: Usage,
) -> str:
    seed = sampling.seed if sampling.seed is not None else random.randrange(2**31)
    llm.set_seed(seed)
    temperature = 1.0 if sampling.temperature is None else sampling.temperature
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    stops = StopMatcher(sampling.stop)
    if max_new <= 0:
        return "length"
    tokens = llm.generate(
        prompt,
        temp=temperature,
        top_p=1.0 if sampling.top_p is None else sampling.top_p,
        top_k=0,
        min_p=0.0,
        repeat_penalty=1.0,
        presence_penalty=sampling.presence_penalty or 0.0,
        frequency_penalty=sampling.frequency_penalty or 0.0,
        reset=True,
    )
    unsent_tokens = 0
    reason = "stop"
    for token in tokens:
        if cancel.is_set():
            return "cancelled"
        if _is_end_of_generation(llm, token):
            break
        usage.completion_tokens += 1
        unsent_tokens += 1
        safe, stopped = stops.feed(decoder.decode(llm.detokenize([token])))
        if safe:
            emit(TextChunk(safe, unsent_tokens))
            unsent_tokens = 0
        if stopped:
            return "stop"
        if usage.completion_tokens >= max_new:
            reason = "length"
            break
    tail = stops.flush() + decoder.decode(b"", final=True)
    if tail or unsent_tokens:
        emit(TextChunk(tail, unsent_tokens))
    return reason
