using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

public sealed partial class IlgpuBackend
{
    Action<Index1D, int, ArrayView<float>, ArrayView<float>, ColumnCopy>? _copyColumns;

    public void CopyColumns(Tensor source, Tensor destination, ColumnCopy copy)
    {
        Shapes.CopyColumns(source, destination, copy);
        if (copy.Rows == 0 || copy.Columns == 0) return;
        _copyColumns ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ColumnCopy>(Rows.CopyColumns);
        int threads = Threads(copy.Rows * copy.Columns);
        _copyColumns(threads, threads, View(source), View(destination), copy);
        Launched?.Invoke($"copy columns {copy.Rows}×{copy.Columns}");
    }
}
