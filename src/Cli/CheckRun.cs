using GpuAe.Kernels;
using GpuAe.Nets;
using GpuAe.Nets.Diagnostics;
using GpuAe.Simd;

namespace GpuAe.Cli;

/// <summary>`gpuae check`: every kernel and a whole training step of each model on the device against the plain C#
/// reference (the SIMD backend's scalar path, one thread), the fused dense steps on a second backend opened to fuse them
/// where the device can; exit 1 on any mismatch.</summary>
public sealed record CheckRun(string Device)
{
    public int Execute(TextWriter stdout)
    {
        using var backend = Backends.Open(Device);
        using var fused = Backends.OpenFused(Device);
        using var reference = new SimdBackend(VectorPath.Scalar, threads: 1);
        return Compare(backend, fused, reference, stdout);
    }

    /// <summary>The table of every comparison of <paramref name="device"/> (and <paramref name="fused"/>) with
    /// <paramref name="reference"/>, and the exit code: 0 when all agree, 1 when any does not.</summary>
    public static int Compare(IBackend device, IBackend? fused, IBackend reference, TextWriter stdout)
    {
        stdout.WriteLine($"device: {device.DeviceName}; reference: {reference.DeviceName}");
        stdout.WriteLine($"{"kernel",-48} {"shape",-18} {"max rel. error",14}  result");
        int failed = 0;
        foreach (var c in KernelCheck.Run(device, reference, fused))
        {
            if (!c.Passed) failed++;
            stdout.WriteLine($"{c.Kernel,-48} {c.Shape,-18} {c.MaxError,14:E2}  {(c.Passed ? "ok" : c.Error is { } error ? $"FAIL (threw {error})" : $"FAIL (tolerance {c.Tolerance:E0})")}");
        }
        stdout.WriteLine(failed == 0 ? "all kernels agree with the reference" : $"{failed} kernel(s) disagree with the reference");
        return failed == 0 ? 0 : 1;
    }
}

/// <summary>`gpuae devices`: the devices ILGPU sees and the SIMD backend, whether each is usable and why not.</summary>
public sealed record DevicesRun
{
    public int Execute(TextWriter stdout)
    {
        var devices = Backends.List();
        foreach (var d in devices)
            stdout.WriteLine($"{d.Kind,-7} {(d.Usable ? "usable  " : "unusable")}  {d.Name}  ({d.Note})");
        if (!devices.Any(d => d.Kind == "opencl"))
            stdout.WriteLine("(no OpenCL device: ILGPU loads the unversioned libOpenCL.so, which Debian puts in ocl-icd-opencl-dev, and needs a device with OpenCL 2.0, or 3.0 with generic address space)");
        return 0;
    }
}
