using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using GpuAe.Nets;
using Xunit;

namespace GpuAe.Tests.Nets;

/// <summary>Checkpoints: round trip, atomic writes, and resuming to the same result as an uninterrupted run.</summary>
public class CheckpointTests : TempFolderTest
{
    sealed class Recorder(Action<StepProgress>? onProgress = null) : ITrainingReporter
    {
        public readonly List<string> Messages = [];
        public void Message(string text) => Messages.Add(text);
        public void Progress(StepProgress progress) => onProgress?.Invoke(progress);
        public void EpochDone(ModelKind model, int epochs, EpochMetrics metrics) { }
    }

    static readonly Dataset Train = RealData.Train.Take(640);
    static readonly Dataset Test = RealData.Test.Take(256);

    static EpochMetrics[] WithoutSeconds(IEnumerable<EpochMetrics> epochs) => epochs.Select(e => e with { Seconds = 0 }).ToArray();

    static Dictionary<string, float[]> Tensors(string folder) =>
        SafeTensors.Read(Path.Combine(folder, Checkpoint.FileName)).Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Data);

    [Fact]
    public void RoundTripRestoresWeightsMomentsAndMetadata()
    {
        var be = Cpu.Backend;
        var (model, _) = TrainingSession.Run(be, new ModelSpec("vae", Latent: 3, Beta: 0.5f), new TrainOptions(1, 64, 1e-3f, 9), Train, Test, Folder, new Recorder(), default);
        var (loaded, metadata) = Models.Load(be, Path.Combine(Folder, Checkpoint.FileName), 64, withMoments: true);
        Assert.Equal(Cpu.Download(model.Parameters.Values), Cpu.Download(loaded.Parameters.Values));
        Assert.Equal(Cpu.Download(model.Parameters.FirstMoment), Cpu.Download(loaded.Parameters.FirstMoment));
        Assert.Equal(Cpu.Download(model.Parameters.SecondMoment), Cpu.Download(loaded.Parameters.SecondMoment));
        Assert.Equal("vae", metadata["model"]);
        Assert.Equal("3", metadata["latent"]);
        Assert.Equal("0.5", metadata["beta"]);
        Assert.Equal("1", metadata["epoch"]);
        Assert.Equal("10", metadata["step"]); // 640 / 64
        Assert.Equal("9", metadata["seed"]);
        Assert.Contains("adam.m.encoder.0.weight", Tensors(Folder).Keys);
    }

    [Theory]
    [InlineData("ae")]
    [InlineData("vae")]
    public void ResumingAfterAnEpochGivesTheUninterruptedResult(string kind)
    {
        var be = Cpu.Backend;
        string whole = Path.Combine(Folder, "whole"), parts = Path.Combine(Folder, "parts");
        var (_, expected) = TrainingSession.Run(be, new ModelSpec(kind), new TrainOptions(2, 64, 1e-3f, 5), Train, Test, whole, new Recorder(), default);
        TrainingSession.Run(be, new ModelSpec(kind), new TrainOptions(1, 64, 1e-3f, 5), Train, Test, parts, new Recorder(), default);
        var (_, resumed) = TrainingSession.Resume(be, parts, 2, Train, Test, new Recorder(), default);
        Assert.Equal(WithoutSeconds(expected), WithoutSeconds(resumed));
        Assert.Equal(Tensors(whole), Tensors(parts));
        Assert.Equal(WithoutSeconds(MetricsCsv.Read(Path.Combine(whole, "metrics.csv"))), WithoutSeconds(MetricsCsv.Read(Path.Combine(parts, "metrics.csv"))));
    }

    [Fact]
    public void ResumingFromAnInterruptionMidEpochGivesTheUninterruptedResult()
    {
        var be = Cpu.Backend;
        string whole = Path.Combine(Folder, "whole"), parts = Path.Combine(Folder, "parts");
        var options = new TrainOptions(2, 16, 1e-3f, 6); // 40 steps an epoch
        var (_, expected) = TrainingSession.Run(be, new ModelSpec("vae"), options, Train, Test, whole, new Recorder(), default);

        using var stop = new CancellationTokenSource();
        var interrupted = new Recorder(p => { if (p.Step == 60) stop.Cancel(); }); // as Ctrl-C during step 60, mid-epoch 2
        var (_, beforeStop) = TrainingSession.Run(be, new ModelSpec("vae"), options, Train, Test, parts, interrupted, stop.Token);
        Assert.Single(beforeStop); // epoch 1 finished, epoch 2 stopped after its 20th step
        Assert.Contains(interrupted.Messages, m => m.Contains("interrupted at step 60"));
        var metadata = SafeTensors.Read(Path.Combine(parts, Checkpoint.FileName)).Metadata;
        Assert.Equal("320", metadata["next_row"]);

        var (_, resumed) = TrainingSession.Resume(be, parts, null, Train, Test, new Recorder(), default);
        Assert.Equal(WithoutSeconds(expected), WithoutSeconds(resumed));
        Assert.Equal(Tensors(whole), Tensors(parts));
    }

    [Fact]
    public void AFailedWriteNeverReplacesTheGoodCheckpoint()
    {
        string path = Path.Combine(Folder, Checkpoint.FileName);
        var meta = new Dictionary<string, string> { ["model"] = "ae" };
        SafeTensors.Write(path, [("a", [2], [1f, 2f])], meta);
        var good = File.ReadAllBytes(path);
        IEnumerable<(string, int[], float[])> Failing()
        {
            yield return ("a", [2], [3f, 4f]);
            throw new IOException("disk full (simulated)");
        }
        Assert.Throws<IOException>(() => SafeTensors.Write(path, Failing(), meta));
        Assert.Equal(good, File.ReadAllBytes(path));
        Assert.Equal([1f, 2f], SafeTensors.Read(path).Tensors["a"].Data);
    }

    [Fact]
    public void TruncatedOrForeignCheckpointsAreClearErrors()
    {
        string path = Path.Combine(Folder, Checkpoint.FileName);
        SafeTensors.Write(path, [("encoder.0.weight", [2, 2], [1f, 2f, 3f, 4f])], new Dictionary<string, string> { ["model"] = "ae" });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^5]);
        Assert.Contains("not a readable safetensors checkpoint", Assert.Throws<UserError>(() => SafeTensors.Read(path)).Message);
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("truncated or corrupt", Assert.Throws<UserError>(() => SafeTensors.Read(path)).Message);
        File.WriteAllBytes(path, bytes);
        var model = new Autoencoder(Cpu.Backend, 4);
        Assert.Contains("has shape [2,2], the model needs [256,784]", Assert.Throws<UserError>(() => Checkpoint.Load(path, Cpu.Backend, model)).Message);
        Assert.Contains("holds a 'ae' model, not 'vae'", Assert.Throws<UserError>(() => Checkpoint.Load(path, Cpu.Backend, new VariationalAutoencoder(Cpu.Backend, 4))).Message);
    }

    /// <summary>The file read without our reader, by the format's definition: an 8-byte little-endian header length, a
    /// JSON header (padded with spaces to a multiple of 8), then each tensor's little-endian float32 bytes, `F32`,
    /// with data_offsets that run back to back from 0 to the end of the file and match the shapes; the bytes are the
    /// model's weights and Adam's moments.</summary>
    [Fact]
    public void TheFileIsSafetensorsByAnIndependentParse()
    {
        var be = Cpu.Backend;
        var model = new VariationalAutoencoder(be, 4, latent: 3, features: 12, hidden: 5);
        model.Initialise(8);
        be.Upload(model.Parameters.FirstMoment, Values.Random(model.Parameters.Length, 81));
        be.Upload(model.Parameters.SecondMoment, Values.Uniform01(model.Parameters.Length, 82));
        string path = Path.Combine(Folder, "model.safetensors");
        Checkpoint.Save(path, be, model, new Dictionary<string, string> { ["epoch"] = "3" });

        var bytes = File.ReadAllBytes(path);
        long headerLength = BitConverter.IsLittleEndian ? BitConverter.ToInt64(bytes, 0) : throw new PlatformNotSupportedException();
        Assert.True(8 + headerLength <= bytes.Length);
        Assert.Equal(0, headerLength % 8);
        var headerText = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        using var header = System.Text.Json.JsonDocument.Parse(headerText.TrimEnd(' '));
        Assert.Equal("3", header.RootElement.GetProperty("__metadata__").GetProperty("epoch").GetString());
        Assert.Equal("vae", header.RootElement.GetProperty("__metadata__").GetProperty("model").GetString());
        long dataStart = 8 + headerLength, expectedOffset = 0;
        var tensors = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .OrderBy(p => p.Value.GetProperty("data_offsets")[0].GetInt64()).ToList();
        var values = be.Down(model.Parameters.Values); var m = be.Down(model.Parameters.FirstMoment); var v = be.Down(model.Parameters.SecondMoment);
        foreach (var t in tensors)
        {
            Assert.Equal("F32", t.Value.GetProperty("dtype").GetString());
            long begin = t.Value.GetProperty("data_offsets")[0].GetInt64(), end = t.Value.GetProperty("data_offsets")[1].GetInt64();
            Assert.Equal(expectedOffset, begin); // contiguous, no gaps or overlaps
            long elements = t.Value.GetProperty("shape").EnumerateArray().Aggregate(1L, (a, d) => a * d.GetInt64());
            Assert.Equal(4 * elements, end - begin);
            expectedOffset = end;
            string name = t.Name.Replace(Checkpoint.FirstMomentPrefix, "").Replace(Checkpoint.SecondMomentPrefix, "");
            var entry = model.Parameters.Entries.Single(e => e.Name == name);
            var source = t.Name.StartsWith(Checkpoint.FirstMomentPrefix) ? m : t.Name.StartsWith(Checkpoint.SecondMomentPrefix) ? v : values;
            var stored = new float[elements];
            Buffer.BlockCopy(bytes, (int)(dataStart + begin), stored, 0, (int)(end - begin));
            Assert.Equal(source.AsSpan(entry.Offset, entry.Length).ToArray(), stored);
        }
        Assert.Equal(bytes.Length, dataStart + expectedOffset); // nothing after the last tensor
        Assert.Equal(3 * model.Parameters.Entries.Count, tensors.Count);
    }

    /// <summary>--resume on other training data of the same size is refused by the data's fingerprint, which the
    /// checkpoint records with the test set's; the original data resumes.</summary>
    [Fact]
    public void ResumingOnOtherDataOfTheSameSizeIsRefused()
    {
        var be = TestBackends.Get("simd512");
        TrainingSession.Run(be, new ModelSpec("ae"), new TrainOptions(1, 64, 1e-3f, 5), Train, Test, Folder, new Recorder(), default);
        var metadata = SafeTensors.Read(Path.Combine(Folder, Checkpoint.FileName)).Metadata;
        Assert.Equal(Train.Fingerprint, metadata["train_sha256"]);
        Assert.Equal(Test.Fingerprint, metadata["test_sha256"]);
        var other = new Dataset(RealData.Train.Pixels.AsSpan(640 * 784, 640 * 784).ToArray(), RealData.Train.Labels.AsSpan(640, 640).ToArray(), 640, 784);
        var error = Assert.Throws<UserError>(() => TrainingSession.Resume(be, Folder, 2, other, Test, new Recorder(), default));
        Assert.Contains("other training data of the same size", error.Message);
        TrainingSession.Resume(be, Folder, 2, Train, Test, new Recorder(), default); // the same data: accepted
    }

    /// <summary>A finished run holds only its model: the trainer's tensors (its copies of the data sets, the batch, the
    /// schedule) are freed when it ends, though they were held while it trained.</summary>
    [Fact]
    public void AFinishedRunHoldsOnlyItsModel()
    {
        using var probe = new GpuAe.Simd.SimdBackend(threads: 1);
        Models.Create(probe, new ModelSpec("vae"), 64, 10);
        long modelBytes = probe.AllocatedBytes;
        using var be = new GpuAe.Simd.SimdBackend(threads: 1);
        TrainingSession.Run(be, new ModelSpec("vae"), new TrainOptions(1, 64, 1e-3f, 5), Train, Test, Folder, new Recorder(), default);
        Assert.Equal(modelBytes, be.AllocatedBytes);
        Assert.True(be.PeakAllocatedBytes >= modelBytes + 4L * (Train.Count + Test.Count) * 784, $"peak {be.PeakAllocatedBytes}, model {modelBytes}");
    }

    /// <summary>The same accounting on ILGPU's accelerator, whose tensors are device buffers: a scope frees its buffers
    /// (disposed, not only uncounted), nested scopes free only their own, the peak remembers the most held, and a whole
    /// training run leaves exactly its model's buffers. Mutants: Release that only uncounts (buffers left undisposed) →
    /// caught; the peak updated before adding → caught.</summary>
    [Fact]
    public void IlgpuBuffersAreCountedAndFreedByTheirScope()
    {
        using (var fresh = IlgpuBackend.Open("cpu")) ScopesFreeTheirBuffers(fresh); // a fresh one: its peak is this test's
        var be = Cpu.Backend;
        ScopesFreeTheirBuffers(be);

        using var probe = new GpuAe.Simd.SimdBackend(threads: 1);
        Models.Create(probe, new ModelSpec("ae"), 64, 10);
        long modelBytes = probe.AllocatedBytes;
        // The backend's own scratch (persistent: kept until it is disposed) may grow on a first use, so the first run only warms it.
        using (be.Scope()) TrainingSession.Run(be, new ModelSpec("ae"), new TrainOptions(1, 64, 1e-3f, 5), Train, Test, Folder, new Recorder(), default);
        using (be.Scope())
        {
            long start = be.AllocatedBytes;
            TrainingSession.Run(be, new ModelSpec("ae"), new TrainOptions(1, 64, 1e-3f, 5), Train, Test, Path.Combine(Folder, "again"), new Recorder(), default);
            Assert.Equal(start + modelBytes, be.AllocatedBytes);
        }
    }

    static void ScopesFreeTheirBuffers(IBackend be)
    {
        long before = be.AllocatedBytes, peak = be.PeakAllocatedBytes;
        Tensor outer, inner;
        using (be.Scope())
        {
            outer = be.Allocate(1000);
            using (be.Scope())
            {
                inner = be.Allocate(250);
                be.AllocateIndices(50);
                Assert.Equal(before + 4L * (1000 + 250 + 50), be.AllocatedBytes);
            }
            Assert.True(((ILGPU.Runtime.MemoryBuffer)inner.Storage).IsDisposed, "the inner scope's buffer is still allocated on the device");
            Assert.False(((ILGPU.Runtime.MemoryBuffer)outer.Storage).IsDisposed);
            Assert.Equal(before + 4000, be.AllocatedBytes);
        }
        Assert.True(((ILGPU.Runtime.MemoryBuffer)outer.Storage).IsDisposed);
        Assert.Equal(before, be.AllocatedBytes);
        Assert.Equal(Math.Max(peak, before + 4L * 1300), be.PeakAllocatedBytes);
    }
}
