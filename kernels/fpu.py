"""Flush-to-zero for the CPU kernels: subnormal floats are treated as, and rounded to, zero.

Decaying state (a synaptic current multiplied by 0.8 every step, a membrane potential relaxing
to 0) reaches the subnormal range (below about 1.2e-38 in float32, 2.2e-308 in float64) after a
few hundred steps without input. x86 cores compute on subnormals through slow microcode
assists, which made the float32 W1 workload about 3.5× slower (bench/README.md). The kernels
therefore set the FTZ and DAZ bits of the SSE control register (MXCSR) of the thread that runs a
block of neurons, and restore the caller's value after it, so NumPy code around a run keeps IEEE
subnormals. Only values whose magnitude is below the smallest normal number change (to 0), far
below any physical voltage or current.

On other architectures :func:`flush_subnormals` and :func:`restore` do nothing.
"""

from __future__ import annotations

import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
FTZ_DAZ = 0x8040  # MXCSR bits 15 (flush to zero) and 6 (denormals are zero)
_I32 = ir.IntType(32)


def _mxcsr_call(builder, name: str, ptr) -> None:
    fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()])
    fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.x86.sse.{name}")
    builder.call(fn, [builder.bitcast(ptr, ir.IntType(8).as_pointer())])


@intrinsic
def flush_subnormals(typingctx):
    """Set FTZ and DAZ for the calling thread; returns the previous control word (uint32) to
    hand to :func:`restore`."""
    def codegen(context, builder, sig, args):
        if not X86:
            return _I32(0)
        ptr = cgutils.alloca_once(builder, _I32)
        _mxcsr_call(builder, "stmxcsr", ptr)
        old = builder.load(ptr)
        builder.store(builder.or_(old, _I32(FTZ_DAZ)), ptr)
        _mxcsr_call(builder, "ldmxcsr", ptr)
        return old
    return types.uint32(), codegen


@intrinsic
def restore(typingctx, word):
    """Restore the control word ``word`` returned by :func:`flush_subnormals`."""
    def codegen(context, builder, sig, args):
        if X86:
            ptr = cgutils.alloca_once(builder, _I32)
            builder.store(args[0], ptr)
            _mxcsr_call(builder, "ldmxcsr", ptr)
        return context.get_dummy_value()
    return types.void(types.uint32), codegen
