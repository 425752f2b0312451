"""Register-blocked int16 x int8 dot products for the engine's dense-block kernel (compiled helpers).

``dot_block(R, T)`` returns a Numba intrinsic that computes the ``R x T`` dot products

.. math::

    out[o_{off} + r\\,s_r + t\\,s_t] = \\sum_{k < 16 n} q[q_{off} + r\\,q_s + k]\\; c[c_{off} + t\\,c_s + k]

of ``R`` int8 weight rows against ``T`` int16 count rows, 16 elements per step, in int32. Why an intrinsic:
LLVM turns a *single* ``int32 += int16 * int16`` reduction into the x86 multiply-add-pairs
instruction (``vpmaddwd``: 16 products summed pairwise into 8 int32 lanes), but not a register block of
several reductions sharing operands (measured: it falls back to ``vpmulld``, 4-6x slower); without the
block every product needs two loads and the kernel is load-bound. Here each loaded weight vector is
used ``T`` times and each count vector ``R`` times from registers, and the pairwise multiply-add is
stated explicitly.

On x86 with AVX2 the multiply-add is ``llvm.x86.avx2.pmadd.wd``; elsewhere the same arithmetic is
written as generic LLVM vector IR (even/odd lanes, widen, multiply, add), so results never depend on
the CPU. The integers are exact: ``|q| <= 127`` and ``|c| <= 32767``, so a pair of products never wraps
int32, and every partial sum is a sum over a subset of the dot product's terms, bounded by the
accumulator bound the engine checks before choosing int32 (``127 * sum |c|`` per group).
"""

from __future__ import annotations

import functools

import llvmlite.binding as llvm_binding
from llvmlite import ir
from numba.core import cgutils, config, types
from numba.extending import intrinsic

__all__ = ["LANES", "has_avx2_madd", "pair_block"]

#: int16 elements per step (one 256-bit vector).
LANES = 16


@functools.cache
def has_avx2_madd() -> bool:
    """True when the kernels are compiled for this host and it has AVX2 (``vpmaddwd`` on 256 bits)."""
    if config.CPU_NAME not in (None, "host") or config.CPU_FEATURES:
        return False  # a portable/cross build: do not assume the host's extensions
    try:
        return bool(llvm_binding.get_host_cpu_features().get("avx2", False))
    except Exception:  # pragma: no cover - exotic hosts without a feature query
        return False


def _madd_generic(builder: ir.IRBuilder, a: ir.Value, b: ir.Value) -> ir.Value:
    # pmaddwd semantics: out[j] = a[2j] * b[2j] + a[2j+1] * b[2j+1], products and sum in int32.
    i32x8 = ir.VectorType(ir.IntType(32), 8)
    even = ir.Constant(ir.VectorType(ir.IntType(32), 8), [2 * j for j in range(8)])
    odd = ir.Constant(ir.VectorType(ir.IntType(32), 8), [2 * j + 1 for j in range(8)])
    parts = []
    for idx in (even, odd):
        ea = builder.sext(builder.shuffle_vector(a, a, idx), i32x8)
        eb = builder.sext(builder.shuffle_vector(b, b, idx), i32x8)
        parts.append(builder.mul(ea, eb))
    return builder.add(parts[0], parts[1])


@functools.cache
def pair_block(n_vec: int, n_tok: int, *, portable: bool = False):
    """Intrinsic ``f(w, w_off, w_vstride, c, c_off, c_tstride, n_pairs, out, o_off, o_tstride)``.

    Multiply-adds ``n_pairs`` input-channel pairs of ``n_vec`` vectors of 8 outputs against ``n_tok``
    tokens and stores the int32 sums (8 per vector and token) at ``out[o_off + t * o_tstride + 8 v + j]``.

    ``w`` is int8 1-D, packed so that vector ``v``'s pair ``p`` is the 16 bytes at
    ``w_off + v * w_vstride + 16 p``: ``(q[o, 2p], q[o, 2p + 1])`` for its 8 outputs ``o``. ``c`` is
    int16 1-D, token ``t``'s pair ``p`` at ``2 (c_off + t * c_tstride + p)``. Offsets and strides in
    those units. One step: per vector one 16-byte load widened to int16; per token one broadcast
    pair; per (vector, token) one multiply-add-pairs into its int32 accumulator register.
    ``portable=True`` emits the generic form even on AVX2 hosts (to test it).
    """
    use_avx2 = has_avx2_madd() and not portable

    @intrinsic
    def _pairs(typingctx, w, w_off, w_vs, c, c_off, c_ts, n_pairs, out, o_off, o_ts):
        sig = types.void(w, w_off, w_vs, c, c_off, c_ts, n_pairs, out, o_off, o_ts)

        def codegen(context, builder, signature, args):
            i64 = ir.IntType(64)
            i16 = ir.IntType(16)
            i32 = ir.IntType(32)
            i16x2 = ir.VectorType(i16, 2)
            i16x16 = ir.VectorType(i16, LANES)
            i8x16 = ir.VectorType(ir.IntType(8), LANES)
            i32x8 = ir.VectorType(i32, 8)
            sa = signature.args
            ints = {i: context.cast(builder, args[i], sa[i], types.int64) for i in (1, 2, 4, 5, 6, 8, 9)}
            w_ary = context.make_array(sa[0])(context, builder, args[0])
            c_ary = context.make_array(sa[3])(context, builder, args[3])
            o_ary = context.make_array(sa[7])(context, builder, args[7])
            w_off, w_vs, c_off, c_ts, n_pairs, o_off, o_ts = (ints[1], ints[2], ints[4], ints[5], ints[6],
                                                              ints[8], ints[9])

            def const(v):
                return ir.Constant(i64, v)

            w_base = [builder.add(w_off, builder.mul(w_vs, const(v))) for v in range(n_vec)]
            c_base = [builder.shl(builder.add(c_off, builder.mul(c_ts, const(t))), const(1))
                      for t in range(n_tok)]
            accs = [[cgutils.alloca_once_value(builder, ir.Constant(i32x8, None)) for _ in range(n_tok)]
                    for _ in range(n_vec)]
            splat = ir.Constant(ir.VectorType(i32, LANES), [j % 2 for j in range(LANES)])
            if use_avx2:
                fnty = ir.FunctionType(i32x8, [i16x16, i16x16])
                madd_fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.avx2.pmadd.wd")
            with cgutils.for_range(builder, n_pairs) as loop:
                p = loop.index
                cvs = []
                for t in range(n_tok):
                    ptr = builder.gep(c_ary.data, [builder.add(c_base[t], builder.shl(p, const(1)))])
                    pair = builder.load(builder.bitcast(ptr, i16x2.as_pointer()), align=2, typ=i16x2)
                    cvs.append(builder.shuffle_vector(pair, pair, splat))
                wp = builder.shl(p, const(4))
                for v in range(n_vec):
                    ptr = builder.gep(w_ary.data, [builder.add(w_base[v], wp)])
                    wv = builder.load(builder.bitcast(ptr, i8x16.as_pointer()), align=1, typ=i8x16)
                    wv = builder.sext(wv, i16x16)
                    for t in range(n_tok):
                        prod = (builder.call(madd_fn, [wv, cvs[t]]) if use_avx2
                                else _madd_generic(builder, wv, cvs[t]))
                        acc = accs[v][t]
                        builder.store(builder.add(builder.load(acc, typ=i32x8), prod), acc)
            for v in range(n_vec):
                for t in range(n_tok):
                    idx = builder.add(o_off, builder.add(builder.mul(o_ts, const(t)), const(8 * v)))
                    ptr = builder.bitcast(builder.gep(o_ary.data, [idx]), i32x8.as_pointer())
                    builder.store(builder.load(accs[v][t], typ=i32x8), ptr, align=4)
            return context.get_dummy_value()

        return sig, codegen

    return _pairs
