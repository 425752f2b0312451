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

__all__ = ["LANES", "PREFETCH_BYTES", "QUAD_LANE_BUDGET", "QUAD_LANE_CHANNELS", "add_byte_column", "has_avx2_madd", "pair_block",
           "quad_block"]

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


#: Bytes ahead of the weight stream that :func:`pair_block` and :func:`quad_block` prefetch (one
#: ``llvm.prefetch`` per step, into L2). A work item streams its packed weights in order, so this is the
#: data it reads next. Measured on the 3584 -> 18944 gate shape at 8 calibrated tokens, weights from
#: DRAM: the quad kernel's multiply-adds 12-13% faster with 4, 8, 16 or 32 KiB (8 KiB taken), 1.5% at
#: 64 tokens; the hardware prefetcher alone left each core's stream short of the memory bandwidth.
PREFETCH_BYTES = 8192


def _prefetch(builder: ir.IRBuilder, data: ir.Value, index: ir.Value) -> None:
    # A read prefetch of data[index] into L2 (locality 2); a hint that never faults, also past the end
    # of the array.
    i8p = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
    ptr = builder.bitcast(builder.gep(data, [index]), i8p)
    builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 2), ir.Constant(i32, 1)])


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
                _prefetch(builder, w_ary.data, builder.add(w_base[0], builder.add(builder.shl(p, const(4)),
                                                                                  const(PREFETCH_BYTES))))
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


#: Input channels (mod 8, counted from a widening boundary of :func:`quad_block`) whose products
#: share one int16 lane: per step of 8 channels, lane ``2 j`` of output ``j`` sums channels 0, 1, 4, 5
#: (first ``vpmaddubsw`` pair, then second), lane ``2 j + 1`` channels 2, 3, 6, 7; with ``steps``
#: steps per widening a lane holds these channels of each of the ``8 * steps`` channels.
QUAD_LANE_CHANNELS = ((0, 1, 4, 5), (2, 3, 6, 7))
#: Bound on ``sum |count|`` over the ``4 * steps`` channels of one lane between two widenings
#: (:data:`QUAD_LANE_CHANNELS`) for :func:`quad_block`: every partial sum of a lane is at most
#: ``255 * 128 = 32640 < 32767`` in magnitude, so ``vpmaddubsw`` never saturates and the int16 adds
#: never wrap. A bound on the lane's sum rather than on each count lets one count use the whole
#: budget (up to 127, the int8 limit) and lets small counts share it; on calibrated activations at
#: k = 3 (mean |count| about 1.1) about 0.1% of the counts keep a remainder at 2 steps.
QUAD_LANE_BUDGET = 128


def _maddubs_generic(builder: ir.IRBuilder, a: ir.Value, b: ir.Value) -> ir.Value:
    # vpmaddubsw without saturation (the callers' bound keeps the sums inside int16): a unsigned,
    # b signed bytes, out[j] = a[2j] b[2j] + a[2j+1] b[2j+1] in int16.
    i16x16 = ir.VectorType(ir.IntType(16), 16)
    even = ir.Constant(ir.VectorType(ir.IntType(32), 16), [2 * j for j in range(16)])
    odd = ir.Constant(ir.VectorType(ir.IntType(32), 16), [2 * j + 1 for j in range(16)])
    parts = []
    for idx in (even, odd):
        ea = builder.zext(builder.shuffle_vector(a, a, idx), i16x16)
        eb = builder.sext(builder.shuffle_vector(b, b, idx), i16x16)
        parts.append(builder.mul(ea, eb))
    return builder.add(parts[0], parts[1])


@functools.cache
def quad_block(n_vec: int, n_tok: int, *, steps: int = 1, portable: bool = False):
    """Intrinsic ``f(w, w_off, w_vstride, c, c_off, c_tstride, n_quads, out, o_off, o_tstride)``.

    Like :func:`pair_block`, with unsigned-offset int8 weights and int8 counts, four input channels
    per step: ``w`` is uint8 1-D, vector ``v``'s quad ``p`` the 32 bytes at ``w_off + v * w_vstride
    + 32 p``, ``(q[o, 4p + h] + 128)`` for its 8 outputs ``o`` and ``h < 4``; ``c`` is int8 1-D,
    token ``t``'s quad ``p`` at ``4 (c_off + t * c_tstride + p)``. Stores
    ``sum_k (q[o, k] + 128) c[t, k]`` (int32) at ``out[o_off + t * o_tstride + 8 v + j]``.

    One step covers two quads: per (vector, token) two ``vpmaddubsw`` (32 byte products summed
    pairwise to int16) added in int16. After ``steps`` steps (``n_quads`` must be a multiple of
    ``2 * steps``) one ``vpmaddwd`` against ones widens the int16 sums (adjacent lanes to int32, i.e.
    the output's sum over the channels) into the int32 accumulator: per step and (vector, token) 64
    multiply-adds in ``2 + 1 / steps`` multiply instructions, against 8 for :func:`pair_block`. Exact
    when, between widenings, the counts of each lane's ``4 * steps`` channels
    (:data:`QUAD_LANE_CHANNELS`) sum to at most :data:`QUAD_LANE_BUDGET` in magnitude (no int16
    saturation or wrap) and the int32 sums fit (the caller's bound).
    ``portable=True`` emits generic vector code even on AVX2 hosts (to test it).
    """
    use_avx2 = has_avx2_madd() and not portable

    @intrinsic
    def _quads(typingctx, w, w_off, w_vs, c, c_off, c_ts, n_quads, out, o_off, o_ts):
        sig = types.void(w, w_off, w_vs, c, c_off, c_ts, n_quads, out, o_off, o_ts)

        def codegen(context, builder, signature, args):
            i64 = ir.IntType(64)
            i8 = ir.IntType(8)
            i16 = ir.IntType(16)
            i32 = ir.IntType(32)
            i8x4 = ir.VectorType(i8, 4)
            i8x32 = ir.VectorType(i8, 32)
            i16x16 = ir.VectorType(i16, 16)
            i32x8 = ir.VectorType(i32, 8)
            sa = signature.args
            ints = {i: context.cast(builder, args[i], sa[i], types.int64) for i in (1, 2, 4, 5, 6, 8, 9)}
            w_ary = context.make_array(sa[0])(context, builder, args[0])
            c_ary = context.make_array(sa[3])(context, builder, args[3])
            o_ary = context.make_array(sa[7])(context, builder, args[7])
            w_off, w_vs, c_off, c_ts, n_quads, o_off, o_ts = (ints[1], ints[2], ints[4], ints[5], ints[6],
                                                              ints[8], ints[9])

            def const(v):
                return ir.Constant(i64, v)

            w_base = [builder.add(w_off, builder.mul(w_vs, const(v))) for v in range(n_vec)]
            c_base = [builder.shl(builder.add(c_off, builder.mul(c_ts, const(t))), const(2))
                      for t in range(n_tok)]
            accs = [[cgutils.alloca_once_value(builder, ir.Constant(i32x8, None)) for _ in range(n_tok)]
                    for _ in range(n_vec)]
            splat = ir.Constant(ir.VectorType(i32, 32), [j % 4 for j in range(32)])
            ones = ir.Constant(i16x16, [1] * 16)
            if use_avx2:
                ub_fn = cgutils.get_or_insert_function(
                    builder.module, ir.FunctionType(i16x16, [i8x32, i8x32]), "llvm.x86.avx2.pmadd.ub.sw")
                wd_fn = cgutils.get_or_insert_function(
                    builder.module, ir.FunctionType(i32x8, [i16x16, i16x16]), "llvm.x86.avx2.pmadd.wd")
            madd_bytes = ((lambda a, b: builder.call(ub_fn, [a, b])) if use_avx2
                          else (lambda a, b: _maddubs_generic(builder, a, b)))
            n_iter = builder.udiv(n_quads, const(2 * steps))
            with cgutils.for_range(builder, n_iter) as loop:
                sums16 = [[None] * n_tok for _ in range(n_vec)]
                for step in range(steps):
                    p0 = builder.add(builder.mul(loop.index, const(2 * steps)), const(2 * step))
                    cvs = []
                    for t in range(n_tok):
                        pair = []
                        for dp in (0, 1):
                            idx = builder.add(c_base[t], builder.shl(builder.add(p0, const(dp)), const(2)))
                            ptr = builder.gep(c_ary.data, [idx])
                            quad = builder.load(builder.bitcast(ptr, i8x4.as_pointer()), align=1, typ=i8x4)
                            pair.append(builder.shuffle_vector(quad, quad, splat))
                        cvs.append(pair)
                    wp = builder.shl(p0, const(5))
                    _prefetch(builder, w_ary.data, builder.add(w_base[0], builder.add(wp, const(PREFETCH_BYTES))))
                    for v in range(n_vec):
                        wvs = []
                        for dp in (0, 32):
                            ptr = builder.gep(w_ary.data, [builder.add(w_base[v], builder.add(wp, const(dp)))])
                            wvs.append(builder.load(builder.bitcast(ptr, i8x32.as_pointer()), align=1,
                                                    typ=i8x32))
                        for t in range(n_tok):
                            s16 = builder.add(madd_bytes(wvs[0], cvs[t][0]), madd_bytes(wvs[1], cvs[t][1]))
                            sums16[v][t] = s16 if sums16[v][t] is None else builder.add(sums16[v][t], s16)
                for v in range(n_vec):
                    for t in range(n_tok):
                        prod = (builder.call(wd_fn, [sums16[v][t], ones]) if use_avx2
                                else _madd_generic(builder, sums16[v][t], ones))
                        acc = accs[v][t]
                        builder.store(builder.add(builder.load(acc, typ=i32x8), prod), acc)
            for v in range(n_vec):
                for t in range(n_tok):
                    idx = builder.add(o_off, builder.add(builder.mul(o_ts, const(t)), const(8 * v)))
                    ptr = builder.bitcast(builder.gep(o_ary.data, [idx]), i32x8.as_pointer())
                    builder.store(builder.load(accs[v][t], typ=i32x8), ptr, align=4)
            return context.get_dummy_value()

        return sig, codegen

    return _quads


@intrinsic
def add_byte_column(typingctx, acc, a_off, words, w_off, shift, mult):
    """``acc[a_off + j] += mult * (((words[w_off + j] >> shift) & 255) - 128)`` for ``j < 8`` (int32).

    One byte of each of 8 consecutive uint32 words (byte ``shift / 8``), i.e. one input channel of a
    :func:`quad_block` weight vector (8 outputs, ``q + 128`` stored), times an int32 multiplier, into 8
    int32 accumulators: the quad kernel's remainders. Written as generic LLVM vector IR (one 256-bit
    load, shift, mask, multiply-add), which Numba's loop vectoriser did not produce for this 8-wide
    strided pattern.
    """
    sig = types.void(acc, a_off, words, w_off, shift, mult)

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        i32x8 = ir.VectorType(i32, 8)
        sa = signature.args
        a_ary = context.make_array(sa[0])(context, builder, args[0])
        w_ary = context.make_array(sa[2])(context, builder, args[2])
        a_off = context.cast(builder, args[1], sa[1], types.int64)
        w_off = context.cast(builder, args[3], sa[3], types.int64)
        shift = builder.trunc(context.cast(builder, args[4], sa[4], types.int64), i32)
        mult = builder.trunc(context.cast(builder, args[5], sa[5], types.int64), i32)

        def splat(value):
            vec = builder.insert_element(ir.Constant(i32x8, None), value, ir.Constant(i32, 0))
            return builder.shuffle_vector(vec, vec, ir.Constant(i32x8, [0] * 8))

        w_ptr = builder.bitcast(builder.gep(w_ary.data, [w_off]), i32x8.as_pointer())
        a_ptr = builder.bitcast(builder.gep(a_ary.data, [a_off]), i32x8.as_pointer())
        byte = builder.and_(builder.lshr(builder.load(w_ptr, align=4), splat(shift)), ir.Constant(i32x8, [255] * 8))
        q = builder.sub(byte, ir.Constant(i32x8, [128] * 8))
        total = builder.add(builder.load(a_ptr, align=4), builder.mul(q, splat(mult)))
        builder.store(total, a_ptr, align=4)
        return context.get_dummy_value()

    return sig, codegen
