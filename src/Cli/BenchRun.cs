using GpuAe.Kernels;
using GpuAe.Nets;
using GpuAe.Nets.Diagnostics;
using GpuAe.Nets.Model;
using GpuAe.Simd;

namespace GpuAe.Cli;

/// <summary>`gpuae bench`: each kernel on the AE's widest layer, then a model's training step (fused and kernel by kernel
/// where the device can fuse it), optionally a whole epoch and the step's per-operation timeline.</summary>
public sealed record BenchRun(string Device, string Kind, int Batch, int Steps, bool Epoch, bool Timeline)
{
    public int Execute(TextWriter stdout)
    {
        if (Batch < 1 || Steps < 1) throw new UserError("--batch and --steps must be at least 1");
        using var backend = Backends.Open(Device);
        if (Timeline && backend is not ILaunchTimeline)
            throw new UserError("--timeline needs an ILGPU device (its profiling markers): use --device cpu, cuda or opencl");
        stdout.WriteLine($"device: {backend.DeviceName}");
        // 2 flops per multiply-add, ×3 for the forward and the two backward GEMMs of every layer.
        double flopsPerImage = 6.0 * Models.Create(backend, new ModelSpec(Kind), 1, 1).MultiplyAddsPerImage;
        stdout.WriteLine($"{"kernel",-40} {"shape",-22} {"ms",10} {"GFLOP/s",10} {"host ms",10}");
        foreach (var k in Bench.Kernels(backend, Batch, Steps))
            stdout.WriteLine($"{k.Name,-40} {k.Shape,-22} {k.Milliseconds,10:F3} {(k.GigaFlops > 0 ? k.GigaFlops.ToString("F2") : "-"),10} {k.HostMilliseconds,10:F3}");
        // Where the step can be fused (dense models, GPU kernel set) everything below runs twice, on a second backend
        // opened to fuse, then kernel by kernel, so that one run compares them on the same device (training itself
        // does not fuse yet: see IFusedDenseSteps).
        using var fusing = Backends.OpenFused(Device);
        bool fuses = fusing is not null && Models.Create(fusing, new ModelSpec(Kind), 1, 1) is IFusedStep { Fuses: true };
        foreach (var (on, fused) in fuses ? new[] { (fusing!, true), (backend, false) } : [(backend, false)])
        {
            string how = fused ? "fused: 3 launches" : "launched kernel by kernel";
            var step = Bench.Step(on, Kind, Batch, Steps);
            double stepMs = step.Milliseconds;
            int stepsPerEpoch = (60000 + Batch - 1) / Batch;
            stdout.WriteLine($"{Kind} training step (batch {Batch}, {how}): {stepMs:F3} ms (host {step.HostMilliseconds:F3} ms to issue it) → epoch of 60,000 images ≈ {stepMs * stepsPerEpoch / 1000:F3} s ({flopsPerImage * 60000 / (stepMs * stepsPerEpoch / 1000) / 1e9:F2} GFLOP/s)");
            if (Epoch)
            {
                var (train, eval, loss) = Bench.Epoch(on, Kind, Batch);
                stdout.WriteLine($"{Kind} measured epoch (60,000 images resident on the device, batch {Batch}, {how}{(on is IGraphReplay { ReplaysGraphs: true } ? ", steps replayed as CUDA graphs" : "")}): {train:F3} s ({flopsPerImage * 60000 / train / 1e9:F2} GFLOP/s), training loss {loss:F4}; evaluation of 10,000 images: {eval:F3} s");
                // The epoch against the same number of steps back to back: what the epoch loop itself costs (the step
                // record, the NaN watch), measured right after it.
                double steps = Bench.StepsBackToBack(on, Kind, Batch, stepsPerEpoch);
                stdout.WriteLine($"{Kind} {stepsPerEpoch} synthetic steps back to back ({how}): {steps:F3} s; the measured epoch takes {100 * (train / steps - 1):+0.0;-0.0} % more");
            }
            if (Timeline)
            {
                var entries = Nets.Diagnostics.Timeline.Step(on, Kind, Batch, Steps);
                double total = entries.Sum(e => e.Microseconds);
                stdout.WriteLine($"{Kind} training step on the device ({how}), operation by operation (µs, median of {Steps} steps; each includes the gap before it):");
                foreach (var e in entries)
                    stdout.WriteLine($"  {e.Operation,-50} {e.Microseconds,9:F1} {100 * e.Microseconds / total,6:F1} %");
                stdout.WriteLine($"  {"total",-50} {total,9:F1}");
            }
        }
        stdout.WriteLine($"peak memory held as tensors: {backend.PeakAllocatedBytes / (1024.0 * 1024):F0} MiB");
        return 0;
    }
}

/// <summary>`gpuae bench gemms`: every GEMM shape of a model's training step timed alone on the SIMD backend, one line per
/// shape with fields separated by spaces, for bench/compare-pytorch.sh.</summary>
public sealed record GemmsRun(string Kind, int Batch)
{
    public int Execute(TextWriter stdout)
    {
        if (Batch < 1) throw new UserError($"--batch must be at least 1 (got {Batch})");
        using var backend = new SimdBackend();
        stdout.WriteLine($"device: {backend.DeviceName}");
        stdout.WriteLine($"{Kind} GEMM shapes of a training step (batch {Batch}), each timed alone (median of 200 calls):");
        stdout.WriteLine($"  {"GEMM layout",-12} {"M",6} {"N",6} {"K",6} {"calls/step",10} {"µs",10} {"GFLOP/s",8}");
        foreach (var g in Bench.Gemms(backend, Kind, Batch))
            stdout.WriteLine($"  gemm {g.Layout,-7} {g.M,6} {g.N,6} {g.K,6} {g.CallsPerStep,10} {g.Microseconds,10:F1} {g.GigaFlops,8:F1}");
        return 0;
    }
}
