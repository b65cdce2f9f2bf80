using System.Diagnostics.CodeAnalysis;
using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The loss family's launchers (<see cref="Loss"/>): sigmoid + BCE, softmax cross-entropy, half squared error, binary
/// decisions scored, the batch sums.</summary>
public sealed partial class IlgpuBackend
{
    Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, int>? _sigmoidBce;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, int>? _sigmoidBcePerThread;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float> _softmaxCrossEntropy;
    Action<AcceleratorStream, KernelConfig, ArrayView<float>, int, ArrayView<float>, int, float> _accumulateSum;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float> _halfSquaredError;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>> _binaryCorrect;

    /// <summary>Threads per group of the group reductions (the GPU set's loss rows and column sums, and the batch sums
    /// of both sets): the largest power of two the device allows, up to 256. On the CPU accelerator, whose one group
    /// has a thread per core, the largest power of two not above the core count.</summary>
    int _reduceGroup;

    [MemberNotNull(nameof(_softmaxCrossEntropy), nameof(_accumulateSum), nameof(_halfSquaredError), nameof(_binaryCorrect))]
    void LoadLoss()
    {
        if (KernelSet == KernelSet.Cpu) Load(out _sigmoidBcePerThread, Loss.SigmoidBceRowsPerThread);
        else Load(out _sigmoidBce, Loss.SigmoidBceRows);
        _reduceGroup = 1;
        while (_reduceGroup * 2 <= Math.Min(Loss.MaxGroup, _accelerator.MaxNumThreadsPerGroup)) _reduceGroup *= 2;
        Load(out _accumulateSum, Loss.AccumulateSum);
        Load(out _softmaxCrossEntropy, Loss.SoftmaxCrossEntropyRows);
        Load(out _halfSquaredError, Loss.HalfSquaredErrorRows);
        Load(out _binaryCorrect, Loss.BinaryDecisions);
    }

    public void SigmoidBce(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowBce, Tensor rowSquaredError, int rows, int cols, float gradScale)
    {
        Shapes.Rows("sigmoid + BCE", rows, cols, ("logits", logits, false), ("targets", targets, false), ("dLogits", dLogits, false), ("rowBce", rowBce, true), ("rowSquaredError", rowSquaredError, true));
        LaunchSigmoidBce(logits, targets, dLogits, rowBce, rowSquaredError, rows, cols, gradScale, lossOnly: false);
        Launched?.Invoke($"sigmoid + BCE + gradient {rows}×{cols}");
    }

    /// <summary>The same kernel with lossOnly: rowBce alone (the views it leaves untouched are given rowBce's).</summary>
    public void BceRows(Tensor logits, Tensor targets, Tensor rowBce, int rows, int cols)
    {
        Shapes.Rows("BCE rows", rows, cols, ("logits", logits, false), ("targets", targets, false), ("rowBce", rowBce, true));
        LaunchSigmoidBce(logits, targets, rowBce, rowBce, rowBce, rows, cols, 0f, lossOnly: true);
        Launched?.Invoke($"BCE rows {rows}×{cols}");
    }

    void LaunchSigmoidBce(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowBce, Tensor rowSquaredError, int rows, int cols, float gradScale, bool lossOnly)
    {
        if (_sigmoidBcePerThread is not null)
        {
            int threads = Threads(rows);
            _sigmoidBcePerThread(Stream, threads, threads, View(logits), View(targets), View(dLogits), View(rowBce), View(rowSquaredError), rows, cols, gradScale, lossOnly ? 1 : 0);
            return;
        }
        _sigmoidBce!(Stream, new KernelConfig(rows, _reduceGroup), View(logits), View(targets), View(dLogits), View(rowBce), View(rowSquaredError), cols, gradScale, lossOnly ? 1 : 0);
    }

    public void SoftmaxCrossEntropy(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowLoss, Tensor rowCorrect, int rows, int cols, float gradScale)
    {
        Shapes.Rows("softmax cross-entropy", rows, cols, ("logits", logits, false), ("targets", targets, false), ("dLogits", dLogits, false), ("rowLoss", rowLoss, true), ("rowCorrect", rowCorrect, true));
        int threads = Threads(rows);
        _softmaxCrossEntropy(Stream, threads, threads, View(logits), View(targets), View(dLogits), View(rowLoss), View(rowCorrect), rows, cols, gradScale);
        Launched?.Invoke($"softmax cross-entropy + gradient {rows}×{cols}");
    }

    public void HalfSquaredError(Tensor predictions, Tensor targets, Tensor dPredictions, Tensor rowLoss, int rows, int cols, float gradScale)
    {
        Shapes.Rows("half squared error", rows, cols, ("predictions", predictions, false), ("targets", targets, false), ("dPredictions", dPredictions, false), ("rowLoss", rowLoss, true));
        int threads = Threads(rows);
        _halfSquaredError(Stream, threads, threads, View(predictions), View(targets), View(dPredictions), View(rowLoss), rows, cols, gradScale);
        Launched?.Invoke($"half squared error + gradient {rows}×{cols}");
    }

    public void BinaryCorrect(Tensor logits, Tensor targets, Tensor correct)
    {
        Shapes.Rows("binary correct", 1, correct.Length, ("logits", logits, false), ("targets", targets, false));
        int threads = Threads(correct.Length);
        _binaryCorrect(Stream, threads, threads, View(logits), View(targets), View(correct));
        Launched?.Invoke($"binary correct {correct.Length}");
    }

    public void AccumulateSum(Tensor values, int count, Tensor accumulator, int slot, float scale = 1f)
    {
        Shapes.AccumulateSum(values, count, accumulator, slot);
        _accumulateSum(Stream, new KernelConfig(1, _reduceGroup), View(values), count, View(accumulator), slot, scale);
        Launched?.Invoke($"accumulate sum {count}");
    }
}
