"""Weight and KV-cache storage formats: bits per weight (scales included) and which weights they cover."""

from __future__ import annotations

from dataclasses import dataclass

from aimgen.planning.arch import ModelArch, Quantization

# Scale overheads, per quantized weight:
#   fp8 block 128x128: one fp32 scale per 16384 weights; per-tensor/per-channel scales are negligible.
#   int4/int8 (AWQ/GPTQ, group 128): an fp16 scale and a packed zero point per group of 128.
#   MXFP4 (OCP MX): 4-bit E2M1 values plus one 8-bit E8M0 scale per 32 → 4.25 bits.
MXFP4_GROUP = 32
DEFAULT_INT_GROUP = 128
KV_BYTES = {"auto": None, "bf16": 2, "bfloat16": 2, "fp16": 2, "float16": 2, "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}


@dataclass(frozen=True)
class WeightFormat:
    precision: str  # bf16 | fp16 | fp8 | int8 | int4 | mxfp4
    bits: float  # bits per quantized weight, scales included
    scope: str  # "none" (nothing quantized) | "linear" (every decoder linear) | "mlp" (dense MLPs and experts)
    block: tuple[int, int] | None = None  # FP8 block (n, k): TP shards must be whole blocks
    group_size: int | None = None  # int/MX groups along the input dimension: row-parallel shards must be whole groups
    label: str = ""

    @property
    def quantized(self) -> bool:
        return self.scope != "none"


def sixteen_bit(precision: str = "bf16") -> WeightFormat:
    return WeightFormat(precision, 16.0, "none", label=f"{precision} (2 bytes/param)")


def _scope(arch: ModelArch, precision: str, stated: str | None) -> str:
    if stated:
        return stated
    # MXFP4 MoE checkpoints (gpt-oss, AMD's DeepSeek-R1 MXFP4) keep attention in bf16; dense ones quantize it too.
    return "mlp" if precision == "mxfp4" and arch.is_moe else "linear"


def weight_format(arch: ModelArch, precision: str, quant: Quantization | None = None) -> WeightFormat:
    """The storage format for precision; quant (from a quantization_config) refines block and group sizes."""
    if precision in ("bf16", "fp16"):
        return sixteen_bit(precision)
    scope = _scope(arch, precision, quant.scope if quant else None)
    where = "MoE/MLP weights" if scope == "mlp" else "linear weights"
    if precision == "fp8":
        block = quant.weight_block_size if quant else None
        if block:
            bits = 8 + 32 / (block[0] * block[1])
            label = f"fp8 e4m3, block {block[0]}x{block[1]} scales, on {where}; embeddings/lm_head/norms bf16"
        else:
            bits = 8.0
            label = f"fp8 e4m3 per-tensor/per-channel scales on {where}; embeddings/lm_head/norms bf16"
        return WeightFormat("fp8", bits, scope, block=block, label=label)
    if precision == "mxfp4":
        group = (quant.group_size if quant else None) or MXFP4_GROUP
        return WeightFormat("mxfp4", 4 + 8 / group, scope, group_size=group,
                            label=f"MXFP4 (4-bit E2M1 + E8M0 scale per {group}: {4 + 8 / group:.2f} bits) on {where}; "
                                  "the rest bf16")
    if precision in ("int4", "int8"):
        nbits = 4 if precision == "int4" else 8
        group = quant.group_size if quant else DEFAULT_INT_GROUP
        bits = nbits + ((16 + nbits) / group if group else 0.0)
        grouping = f"group {group}" if group else "per-channel"
        return WeightFormat(precision, bits, scope, group_size=group,
                            label=f"{precision} ({grouping}, fp16 scales: {bits:.2f} bits) on {where}; the rest bf16")
    raise ValueError(f"unknown precision {precision!r}")


def kv_bytes_per_element(arch: ModelArch, kv_cache_dtype: str) -> int:
    size = KV_BYTES.get(kv_cache_dtype, 0)
    if size == 0:
        raise ValueError(f"unknown KV cache dtype {kv_cache_dtype!r}")
    # "auto" stores KV in the activation dtype: bf16/fp16 (fp32 checkpoints are served in bf16).
    return size or 2
