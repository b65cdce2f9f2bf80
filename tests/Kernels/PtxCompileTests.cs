using System.Reflection;
using GpuAe.Kernels;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Xunit;

namespace GpuAe.Tests.Kernels;

/// <summary>
/// Every kernel compiled to PTX, as CUDA would compile it, without a GPU. ILGPU's CPU accelerator builds a kernel's IR
/// only to check it and then runs the kernel's own .NET method, so the other tests never put the kernels through a GPU
/// backend; this does, so that a construct the PTX backend rejects fails here, not on the first lent GPU. Every public static void method of GpuAe.Kernels is
/// a kernel: those taking an Index1D first are launched auto-grouped, the others with an explicit group configuration.
/// </summary>
public class PtxCompileTests
{
    public static TheoryData<string> Kernels => [.. KernelMethods().Select(m => $"{m.DeclaringType!.Name}.{m.Name}")];

    static IEnumerable<MethodInfo> KernelMethods() => typeof(Gemm).Assembly.GetTypes()
        .Where(t => t.IsAbstract && t.IsSealed) // static classes
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
        .Where(m => m.ReturnType == typeof(void) && m.GetParameters().Any(p => p.ParameterType.Name.StartsWith("ArrayView")))
        .OrderBy(m => m.DeclaringType!.Name).ThenBy(m => m.Name);

    static readonly Lazy<(Context Context, PTXBackend Backend)> Compiler = new(() =>
    {
        var context = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O2));
        // SM 7.0 (Volta), the oldest architecture with the independent thread scheduling the group barriers assume.
        var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_70), CudaArchitecture.SM_70, CudaInstructionSet.ISA_70, null);
        return (context, backend);
    });

    static string CompileToPtx(MethodInfo kernel)
    {
        var entry = kernel.GetParameters()[0].ParameterType == typeof(Index1D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        return ((PTXCompiledKernel)Compiler.Value.Backend.Compile(entry, new KernelSpecialization())).PTXAssembly;
    }

    [Fact]
    public void TheKernelListHoldsEveryKernelTheBackendLoads()
    {
        var names = KernelMethods().Select(m => m.Name).ToHashSet();
        foreach (var kernel in new[] { "SharedTiled", "AddSplits", "TransposeWeights", "StepRows", "StepUpdate", "PackedTiled", "SigmoidBceRows", "AccumulateSum", "Update", "Im2Col", "ReparameterizeBackward", "LogWeights" })
            Assert.Contains(kernel, names);
    }

    [Theory, MemberData(nameof(Kernels))]
    public void CompilesToPtx(string name)
    {
        var kernel = KernelMethods().Single(m => $"{m.DeclaringType!.Name}.{m.Name}" == name);
        string ptx = CompileToPtx(kernel);
        Assert.Contains(".entry", ptx);
    }

    /// <summary>A kernel that only clamps log σ², to read the PTX of <see cref="Sampling.ClampLogVariance"/> alone.</summary>
    public static void ClampLogVariances(Index1D i, ArrayView<float> x) => x[i] = Sampling.ClampLogVariance(x[i]);

    /// <summary>PTX min.f32/max.f32 return the operand that is not NaN: a clamp built from them turns a NaN log σ² into a
    /// number on a GPU (and hides a diverged VAE from the NaN watch) while the CPU keeps the NaN. The clamp must compile
    /// to comparisons and selects.</summary>
    [Fact]
    public void ClampingLogVarianceKeepsNaNOnAGpu()
    {
        string ptx = CompileToPtx(typeof(PtxCompileTests).GetMethod(nameof(ClampLogVariances))!);
        // Any min/max on floats, whatever its modifiers (min.ftz.f32, max.NaN.f32, …). Mutant caught: the clamp written
        // with MathF.Min/MathF.Max (PTX min.ftz.f32 under fast maths, which the old "min.f32" substring missed).
        Assert.DoesNotMatch(@"\b(min|max)(\.[a-zA-Z0-9]+)*\.f32\b", ptx);
        // The comparisons of a float with the bounds, and a select (or branch) on them.
        Assert.Matches(@"setp\.[a-z]+(\.[a-z]+)*\.f32", ptx);
        Assert.True(float.IsNaN(Sampling.ClampLogVariance(float.NaN)));
        Assert.Equal(Sampling.MaxLogVariance, Sampling.ClampLogVariance(float.PositiveInfinity));
        Assert.Equal(Sampling.MinLogVariance, Sampling.ClampLogVariance(-1e6f));
        Assert.Equal(-3.5f, Sampling.ClampLogVariance(-3.5f));
    }

    /// <summary>The GPU GEMMs' inner loops as written: ILGPU does not unroll loops, and a loop over a struct indexer
    /// became a jump table per element (brx.idx) in the tile copies; a local array would live in local memory.</summary>
    [Theory, InlineData(typeof(Gemm), nameof(Gemm.SharedTiled)), InlineData(typeof(FusedDense), nameof(FusedDense.StepRows)),
     InlineData(typeof(FusedDense), nameof(FusedDense.StepUpdate))]
    public void GpuGemmsHaveNoJumpTablesOrLocalMemory(Type type, string name)
    {
        string ptx = CompileToPtx(type.GetMethod(name)!);
        Assert.DoesNotContain("brx.idx", ptx);
        Assert.DoesNotContain(".local", ptx);
        Assert.Contains("ld.shared.f32", ptx);
    }
}
