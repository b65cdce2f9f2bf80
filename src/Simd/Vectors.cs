using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace GpuAe.Simd;

/// <summary>
/// A float vector of a fixed width that the GEMM is written against once. The JIT compiles the generic GEMM
/// separately for each struct below and inlines these calls, so the loop runs on zmm, ymm or scalar registers.
/// </summary>
public interface IVector<TSelf> where TSelf : struct, IVector<TSelf>
{
    static abstract int Width { get; }
    static abstract TSelf Zero { get; }
    static abstract TSelf Load(ref float source);
    static abstract TSelf Broadcast(float value);
    /// <summary>a·b + c</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);
    void Store(ref float destination);
}

/// <summary>16 floats (AVX-512).</summary>
public readonly struct Vec512(Vector512<float> v) : IVector<Vec512>
{
    readonly Vector512<float> _v = v;
    public static int Width => Vector512<float>.Count;
    public static Vec512 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Load(ref float source) => new(Vector512.LoadUnsafe(ref source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Broadcast(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 MultiplyAdd(Vec512 a, Vec512 b, Vec512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(ref float destination) => _v.StoreUnsafe(ref destination);
}

/// <summary>8 floats (AVX2 + FMA).</summary>
public readonly struct Vec256(Vector256<float> v) : IVector<Vec256>
{
    readonly Vector256<float> _v = v;
    public static int Width => Vector256<float>.Count;
    public static Vec256 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Load(ref float source) => new(Vector256.LoadUnsafe(ref source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Broadcast(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 MultiplyAdd(Vec256 a, Vec256 b, Vec256 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(ref float destination) => _v.StoreUnsafe(ref destination);
}

/// <summary>One float: the fallback for machines with neither, and the reference the wide paths are tested against.</summary>
public readonly struct Vec1(float v) : IVector<Vec1>
{
    readonly float _v = v;
    public static int Width => 1;
    public static Vec1 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 Load(ref float source) => new(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 Broadcast(float value) => new(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 MultiplyAdd(Vec1 a, Vec1 b, Vec1 c) => new(MathF.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(ref float destination) => destination = _v;
}

/// <summary>Which vector width the SIMD backend uses; chosen once at start-up from what the processor supports.</summary>
public enum VectorPath { Vector512, Vector256, Scalar }

public static class VectorPaths
{
    public static VectorPath Best =>
        Vector512.IsHardwareAccelerated && Vector512<float>.Count == 16 ? VectorPath.Vector512
        : Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported ? VectorPath.Vector256
        : VectorPath.Scalar;

    public static int Width(VectorPath path) => path switch { VectorPath.Vector512 => 16, VectorPath.Vector256 => 8, _ => 1 };
}
