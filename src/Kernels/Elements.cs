using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>
/// Indexed access to a tensor's elements, so that one per-row helper (<see cref="Loss.SoftmaxCrossEntropyRow"/>,
/// <see cref="Iwae.LogWeight"/>, <see cref="StepRecord.Advance"/>…) serves the ILGPU kernels, through
/// <see cref="ViewElements{T}"/>, and the SIMD host backend, through <see cref="ArrayElements{T}"/>: one formula, one place.
/// The helpers take it as a type parameter constrained to a struct, so the JIT and ILGPU compile each use with the
/// indexer inlined; no interface call is left.
/// </summary>
public interface IElements<T> where T : unmanaged
{
    T this[int index] { get; set; }
}

/// <summary>An ArrayView's elements (in a kernel): element i is view[i].</summary>
public readonly struct ViewElements<T> : IElements<T> where T : unmanaged
{
    readonly ArrayView<T> _view;

    public ViewElements(ArrayView<T> view) => _view = view;

    public T this[int index] { get => _view[index]; set => _view[index] = value; }
}

/// <summary>An array's elements from an offset (on the host): element i is array[offset + i].</summary>
public readonly struct ArrayElements<T> : IElements<T> where T : unmanaged
{
    readonly T[] _array;
    readonly int _offset;

    public ArrayElements(T[] array, int offset) { _array = array; _offset = offset; }

    public T this[int index] { get => _array[_offset + index]; set => _array[_offset + index] = value; }
}

public static class Elements
{
    /// <summary>Row <paramref name="row"/> of a row-major view <paramref name="width"/> elements wide.</summary>
    public static ViewElements<T> Row<T>(this ArrayView<T> view, int row, int width) where T : unmanaged =>
        new(view.SubView(row * width, width));

    /// <summary>The view's elements from <paramref name="start"/> on.</summary>
    public static ViewElements<T> From<T>(this ArrayView<T> view, int start) where T : unmanaged => new(view.SubView(start));
}
