using GpuAe.Kernels;
using GpuAe.Nets.Diagnostics;
using GpuAe.Nets;
using GpuAe.Simd;
using Xunit;

namespace GpuAe.Tests.Nets;

public class KernelCheckTests
{
    /// <summary>A device that throws in one kernel gets that kernel reported as failed, with what it threw, and every
    /// other comparison still runs.</summary>
    [Fact]
    public void AKernelThatThrowsIsAFailureAndTheOthersStillRun()
    {
        using var reference = new SimdBackend(VectorPath.Scalar, threads: 1);
        // The CPU accelerator, but gathering rows throws, as a launch a driver refuses would.
        var device = (IlgpuBackend)Cpu.Backend;
        device.Launched = operation =>
        {
            if (operation.StartsWith("gather rows")) throw new InvalidOperationException("launch failed with CUDA error 98");
        };
        List<CheckResult> results;
        try { results = KernelCheck.Run(device, reference).ToList(); }
        finally { device.Launched = null; }
        var gather = Assert.Single(results, r => r.Kernel == "gather rows");
        Assert.False(gather.Passed);
        Assert.True(gather.Error!.Contains("CUDA error 98"), gather.Error);
        // Both record-driven epochs and the fused-step checks (kernel by kernel here) gather their batches: they fail too; everything else agrees exactly.
        Assert.Equal(["gather rows", "step record: begin step, gather, noise, Adam", "ae: epoch by the step record (CUDA: graph)",
            "vae: epoch by the step record (CUDA: graph)", "vae-gan: epoch by the step record (CUDA: graph)", "ae: fused step (GPU kernel set), Adam",
            "vae: fused step (GPU kernel set), Adam"], results.Where(r => !r.Passed).Select(r => r.Kernel));
        Assert.True(results.Count > 20);
    }

    /// <summary>A device whose dense forward is off by 1e-3 relative (as a kernel with a subtle bug would be) fails `check`:
    /// that kernel, and the whole steps built on it, are reported with errors above the 1e-4 tolerance; the rest agree.
    /// (`gpuae check` exits 1 when any comparison fails.)</summary>
    [Fact]
    public void AKernelOffBy1e3IsReportedAndTheOthersPass()
    {
        using var reference = new SimdBackend(VectorPath.Scalar, threads: 1);
        using var inner = new SimdBackend(VectorPath.Scalar, threads: 1);
        var results = KernelCheck.Run(new DenseForwardOffBy(inner, 1e-3f), reference).ToList();
        var dense = results.Where(r => r.Kernel.StartsWith("dense forward")).ToList();
        Assert.NotEmpty(dense);
        Assert.All(dense, r => Assert.False(r.Passed));
        Assert.All(dense, r => Assert.InRange(r.MaxError, 0.5e-3, 2e-3));
        Assert.Contains(results, r => r.Kernel == "ae: whole training step (all gradients, loss)" && !r.Passed);
        Assert.All(results.Where(r => r.Kernel is "sigmoid + BCE + gradient" or "Adam" or "gather rows" or "im2col"), r => Assert.True(r.Passed, r.Kernel));
    }

    /// <summary>`gpuae check`'s exit code: 1 and the count of disagreeing kernels when the device's dense forward is off
    /// by 1e-3. Mutant: `return 0` whatever failed → caught.</summary>
    [Fact]
    public void CheckExitsOneOnAMismatchAndZeroWithout()
    {
        using var reference = new SimdBackend(VectorPath.Scalar, threads: 1);
        using var inner = new SimdBackend(VectorPath.Scalar, threads: 1);
        var wrong = new StringWriter();
        Assert.Equal(1, GpuAe.Cli.CheckRun.Compare(new DenseForwardOffBy(inner, 1e-3f), null, reference, wrong));
        Assert.Matches(@"\n\d+ kernel\(s\) disagree with the reference", wrong.ToString());
        Assert.Contains("FAIL (tolerance", wrong.ToString());
        // Exit 0 and "all kernels agree" on a right device: CliTests.CheckRunsEveryKernelAgainstTheReference.
    }

    /// <summary>Every call passed on to <paramref name="inner"/>; dense forward's output then scaled by 1 + error.</summary>
    sealed class DenseForwardOffBy(IBackend inner, float error) : IBackend
    {
        public string DeviceName => "dense forward off by " + error;
        public Tensor Allocate(int length) => inner.Allocate(length);
        public IndexTensor AllocateIndices(int length) => inner.AllocateIndices(length);
        public long AllocatedBytes => inner.AllocatedBytes;
        public long PeakAllocatedBytes => inner.PeakAllocatedBytes;
        public IDisposable Scope() => inner.Scope();
        public void Upload(Tensor destination, ReadOnlySpan<float> source) => inner.Upload(destination, source);
        public void Upload(IndexTensor destination, ReadOnlySpan<int> source) => inner.Upload(destination, source);
        public void Download(Tensor source, Span<float> destination) => inner.Download(source, destination);
        public void Download(IndexTensor source, Span<int> destination) => inner.Download(source, destination);
        public void Fill(Tensor destination, float value) => inner.Fill(destination, value);
        public void Synchronize() => inner.Synchronize();
        public void Dispose() { }
        public void DenseForward(Tensor x, Tensor w, Tensor b, Tensor y, int rows, int inFeatures, int outFeatures, Activation activation)
        {
            inner.DenseForward(x, w, b, y, rows, inFeatures, outFeatures, activation);
            var values = new float[rows * outFeatures];
            inner.Download(y.Slice(0, values.Length), values);
            for (int i = 0; i < values.Length; i++) values[i] *= 1 + error;
            inner.Upload(y.Slice(0, values.Length), values);
        }
        public void DenseBackwardInput(Tensor dy, Tensor w, Tensor dx, int rows, int inFeatures, int outFeatures, Tensor? reluOutput) =>
            inner.DenseBackwardInput(dy, w, dx, rows, inFeatures, outFeatures, reluOutput);
        public void DenseBackwardParameters(Tensor dy, Tensor x, Tensor dw, Tensor? db, int rows, int inFeatures, int outFeatures) =>
            inner.DenseBackwardParameters(dy, x, dw, db, rows, inFeatures, outFeatures);
        public void ColumnSums(Tensor dy, int rows, int cols, Tensor db) => inner.ColumnSums(dy, rows, cols, db);
        public void Im2Col(Tensor images, Tensor cols, int count, ConvGeometry geometry) => inner.Im2Col(images, cols, count, geometry);
        public void Col2Im(Tensor cols, Tensor images, int count, ConvGeometry geometry, Tensor? reluOutput) => inner.Col2Im(cols, images, count, geometry, reluOutput);
        public void AddBias(Tensor y, Tensor bias, int rows, int cols, Activation activation) => inner.AddBias(y, bias, rows, cols, activation);
        public void SigmoidBce(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowBce, Tensor rowSquaredError, int rows, int cols, float gradScale) =>
            inner.SigmoidBce(logits, targets, dLogits, rowBce, rowSquaredError, rows, cols, gradScale);
        public void ConvTranspose(Tensor x, Tensor w, Tensor cols, Tensor images, int count, int inChannels, ConvGeometry geometry) =>
            inner.ConvTranspose(x, w, cols, images, count, inChannels, geometry);
        public void ConvBackwardInput(Tensor dy, Tensor w, Tensor cols, Tensor dx, int count, int outChannels, ConvGeometry geometry, Tensor? reluOutput) =>
            inner.ConvBackwardInput(dy, w, cols, dx, count, outChannels, geometry, reluOutput);
        public void BceRows(Tensor logits, Tensor targets, Tensor rowBce, int rows, int cols) => inner.BceRows(logits, targets, rowBce, rows, cols);
        public void SoftmaxCrossEntropy(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowLoss, Tensor rowCorrect, int rows, int cols, float gradScale) =>
            inner.SoftmaxCrossEntropy(logits, targets, dLogits, rowLoss, rowCorrect, rows, cols, gradScale);
        public void AccumulateSum(Tensor values, int count, Tensor accumulator, int slot, float scale = 1f) => inner.AccumulateSum(values, count, accumulator, slot, scale);
        public void Adam(Tensor parameters, Tensor gradients, Tensor firstMoment, Tensor secondMoment, AdamStep step, NonFiniteWatch? watch = null, IndexTensor? stepRecord = null) =>
            inner.Adam(parameters, gradients, firstMoment, secondMoment, step, watch, stepRecord);
        public void BeginStep(IndexTensor schedule, IndexTensor record) => inner.BeginStep(schedule, record);
        public void GatherRows(Tensor data, IndexTensor order, StepValue start, int rows, int cols, Tensor destination) => inner.GatherRows(data, order, start, rows, cols, destination);
        public void CopyColumns(Tensor source, Tensor destination, ColumnCopy copy) => inner.CopyColumns(source, destination, copy);
        public void Sigmoid(Tensor x, Tensor y) => inner.Sigmoid(x, y);
        public void SigmoidBackward(Tensor y, Tensor dy, Tensor dx) => inner.SigmoidBackward(y, dy, dx);
        public void LeakyRelu(Tensor x, Tensor y, float slope) => inner.LeakyRelu(x, y, slope);
        public void LeakyReluBackward(Tensor x, Tensor dy, Tensor dx, float slope) => inner.LeakyReluBackward(x, dy, dx, slope);
        public void AddScaled(Tensor x, Tensor y, float scale) => inner.AddScaled(x, y, scale);
        public void HalfSquaredError(Tensor predictions, Tensor targets, Tensor dPredictions, Tensor rowLoss, int rows, int cols, float gradScale) =>
            inner.HalfSquaredError(predictions, targets, dPredictions, rowLoss, rows, cols, gradScale);
        public void BinaryCorrect(Tensor logits, Tensor targets, Tensor correct) => inner.BinaryCorrect(logits, targets, correct);
        public void NormalNoise(Tensor noise, ulong seed, StepValue step) => inner.NormalNoise(noise, seed, step);
        public void Reparameterize(Tensor enc, Tensor noise, Tensor z, int rows, int latent) => inner.Reparameterize(enc, noise, z, rows, latent);
        public void ReparameterizeBackward(Tensor enc, Tensor noise, Tensor dz, Tensor denc, Tensor rowKl, int rows, int latent, float klWeightOverRows) =>
            inner.ReparameterizeBackward(enc, noise, dz, denc, rowKl, rows, latent, klWeightOverRows);
        public void KlRows(Tensor enc, Tensor rowKl, int rows, int latent) => inner.KlRows(enc, rowKl, rows, latent);
        public void ImportanceLogWeights(Tensor enc, Tensor noise, Tensor z, Tensor rowBce, Tensor logWeights, int sample, int rows, int latent) =>
            inner.ImportanceLogWeights(enc, noise, z, rowBce, logWeights, sample, rows, latent);
        public void NegativeLogMeanExp(Tensor logWeights, int samples, int rows, Tensor rowBound) => inner.NegativeLogMeanExp(logWeights, samples, rows, rowBound);
    }
}
