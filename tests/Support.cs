using GpuAe.Kernels;
using GpuAe.Simd;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)] // one CPU accelerator, used by one test at a time

namespace GpuAe.Tests;

/// <summary>One ILGPU CPU accelerator for the whole run: compiling the kernels once saves seconds per test.</summary>
public static class Cpu
{
    public static IBackend Backend => TestBackends.Get("cpu");
    public static Tensor Upload(float[] values) => Backend.Up(values);
    public static float[] Download(Tensor t) => Backend.Down(t);
}

/// <summary>Every implementation of the kernel interface the tests hold to the same references: ILGPU's CPU
/// accelerator (the path CUDA and OpenCL share) with each GEMM kernel (the shared-memory one, which GPUs use, on a
/// CPU accelerator with GPU-sized groups), and the SIMD host backend on each of its vector paths, forced.</summary>
public static class TestBackends
{
    static readonly Dictionary<string, Lazy<IBackend>> Backends = new()
    {
        ["cpu"] = new(() => IlgpuBackend.Open("cpu")),
        // Splits K whenever C has fewer than 64 tiles, so the test shapes take the split-K path GPUs take on the AE's shapes.
        // Trains the dense models by the fused step (FusedDense), which GPUs do not use by default yet.
        ["cpu-shared"] = new(() => { var b = IlgpuBackend.Open("cpu", KernelSet.Gpu, fuseDenseSteps: true); b.SplitBelowGroups = 64; return b; }),
        ["simd512"] = new(() => new SimdBackend(VectorPath.Vector512)),
        ["simd256"] = new(() => new SimdBackend(VectorPath.Vector256)),
        ["scalar"] = new(() => new SimdBackend(VectorPath.Scalar)),
    };

    public static IEnumerable<string> Names => Backends.Keys;
    public static IBackend Get(string name) => Backends[name].Value;
    public static TheoryData<string> All => [.. Names];

    /// <summary>Every backend name crossed with every row of <paramref name="rows"/>.</summary>
    public static IEnumerable<object[]> Cross(params object[][] rows) => Cross(Names, rows);
    static IEnumerable<object[]> Cross(IEnumerable<string> names, object[][] rows) =>
        from name in names from row in rows select (object[])[name, .. row];

    public static Tensor Up(this IBackend backend, float[] values)
    {
        var t = backend.Allocate(values.Length);
        backend.Upload(t, values);
        return t;
    }

    public static float[] Down(this IBackend backend, Tensor t)
    {
        var values = new float[t.Length];
        backend.Download(t, values);
        return values;
    }
}

public static class Values
{
    public static float[] Random(int count, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
    }

    public static float[] Uniform01(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)random.NextDouble()).ToArray();
    }

    /// <summary>Asserts |expected − actual| ≤ tolerance·(1 + |expected|) element by element, naming the first failure.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0; int worstAt = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]) / (1 + Math.Abs(expected[i]));
            if (!(error <= worst)) { worst = error; worstAt = i; }
        }
        Assert.True(worst <= tolerance, $"{what}: worst relative error {worst:E2} at [{worstAt}] (expected {expected[Math.Max(worstAt, 0)]}, got {actual[Math.Max(worstAt, 0)]}), tolerance {tolerance:E1}");
    }

    public static void AssertClose(double[] expected, float[] actual, double tolerance, string what) =>
        AssertClose(expected.Select(v => (float)v).ToArray(), actual, tolerance, what);

    /// <summary>A backward pass against central differences, tensor by tensor: every element within
    /// <paramref name="noise"/> (the differences' float rounding) + 2 % of its size, and each tensor as a whole within 5 %
    /// (‖numeric − analytic‖ ≤ 0.05‖numeric‖ + noise·√n), so that a small tensor's gradient is checked relative to its
    /// own size and not to 1; and no tensor's gradient all but zero (‖numeric‖ above 10·noise·√n: the comparison would be
    /// between rounding errors). Elements whose differences are NaN were not differenced and are skipped. Mutants caught by
    /// the tests that use it: one tensor's gradient zeroed, or scaled by 0.7.</summary>
    public static void AssertGradients(double[] numeric, float[] analytic, IEnumerable<(string Name, int Offset, int Length)> tensors, double noise, string what)
    {
        Assert.Equal(numeric.Length, analytic.Length);
        foreach (var (name, offset, length) in tensors)
        {
            double difference = 0, size = 0;
            int compared = 0;
            for (int i = offset; i < offset + length; i++)
            {
                if (double.IsNaN(numeric[i])) continue; // not differenced (FiniteDifferences.Central's every)
                compared++;
                double d = numeric[i] - analytic[i];
                Assert.True(Math.Abs(d) <= noise + 0.02 * Math.Abs(numeric[i]),
                    $"{what}: {name}[{i - offset}]: finite differences {numeric[i]:E3}, backward {analytic[i]:E3}");
                difference += d * d; size += numeric[i] * numeric[i];
            }
            Assert.True(compared > 0, $"{what}: {name}: no element differenced");
            double floor = noise * Math.Sqrt(compared);
            Assert.True(Math.Sqrt(size) > 10 * floor, $"{what}: {name}: gradient norm {Math.Sqrt(size):E2} is within 10× the rounding floor {floor:E2}");
            Assert.True(Math.Sqrt(difference) <= 0.05 * Math.Sqrt(size) + floor,
                $"{what}: {name}: ‖finite differences − backward‖ = {Math.Sqrt(difference):E2}, ‖finite differences‖ = {Math.Sqrt(size):E2}");
        }
    }

    /// <summary>The tensors of a parameter set, for <see cref="AssertGradients"/>.</summary>
    public static IEnumerable<(string, int, int)> Tensors(GpuAe.Nets.Model.ParameterSet p) => p.Entries.Select(e => (e.Name, e.Offset, e.Length));
}

/// <summary>Central differences of a scalar loss with respect to every element of a tensor kept in sync with a host copy.</summary>
public static class FiniteDifferences
{
    public static double[] Central(float[] host, Tensor device, Func<double> loss, float eps) => Central(Cpu.Backend, host, device, loss, eps);

    /// <summary>Central differences of <paramref name="loss"/> in each element of <paramref name="device"/> (whose values
    /// are <paramref name="host"/>); with <paramref name="every"/> &gt; 1 only in every every-th element and the last (the
    /// others NaN: <see cref="Values.AssertGradients"/> and <see cref="Values.AssertClose"/> skip them), for the GPU-shaped
    /// accelerator, where each loss costs a launch of emulated groups.</summary>
    public static double[] Central(IBackend backend, float[] host, Tensor device, Func<double> loss, float eps, int every = 1)
    {
        var numeric = new double[host.Length];
        for (int i = 0; i < host.Length; i++)
        {
            if (i % every != 0 && i != host.Length - 1) { numeric[i] = double.NaN; continue; }
            float saved = host[i];
            host[i] = saved + eps; backend.Upload(device, host); double plus = loss();
            host[i] = saved - eps; backend.Upload(device, host); double minus = loss();
            host[i] = saved; backend.Upload(device, host);
            numeric[i] = (plus - minus) / (2 * eps);
        }
        return numeric;
    }
}

/// <summary>Central differences of a model's batch loss (what TrainStep adds to the TrainLoss slot, per row) with
/// respect to every parameter, beside the gradients TrainStep writes. Every TrainStep uses step 1, so the VAE
/// draws the same noise each time and the loss is a deterministic function of the parameters.</summary>
public static class StepGradients
{
    public static (double[] Numeric, float[] Analytic) Of(GpuAe.Nets.Model.IModel model, Tensor x, int rows)
    {
        var be = Cpu.Backend;
        var acc = be.Allocate((int)GpuAe.Nets.Model.Slot.Count);
        double BatchLoss()
        {
            be.Fill(acc, 0f);
            model.TrainStep(x, rows, 1, acc);
            return be.Down(acc)[(int)GpuAe.Nets.Model.Slot.TrainLoss] / rows;
        }
        BatchLoss();
        var analytic = be.Down(model.Parameters.Gradients);
        var p = be.Down(model.Parameters.Values);
        return (FiniteDifferences.Central(p, model.Parameters.Values, BatchLoss, eps: 1e-3f), analytic);
    }
}

/// <summary>The repository's root (the folder holding GpuAe.sln), for committed files such as the classifier.</summary>
/// <summary>The `gpuae` command line run in this process: its exit code and what it printed.</summary>
public static class Gpuae
{
    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter(); var stderr = new StringWriter();
        return (GpuAe.Cli.GpuAeCli.Run(args, stdout, stderr), stdout.ToString(), stderr.ToString());
    }
}

public static class Repository
{
    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "GpuAe.sln"))) return d.FullName;
        throw new InvalidOperationException($"no GpuAe.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>The committed classifier that scores generated images (reports/classifier).</summary>
    public static string Classifier => Path.Combine(Root, "reports", "classifier");
}

/// <summary>A fresh temporary folder per test, deleted afterwards.</summary>
public abstract class TempFolderTest : IDisposable
{
    protected readonly string Folder = Directory.CreateTempSubdirectory("gpuae-test-").FullName;
    public void Dispose()
    {
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}
