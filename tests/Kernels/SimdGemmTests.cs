using GpuAe.Simd;
using Xunit;

namespace GpuAe.Tests.Kernels;

/// <summary>The SIMD GEMM against its definition, bit for bit: every element of C is the in-order chain
/// acc = fma(A(m,k), B(k,n), acc), k = 0 … K−1, whatever tile, panel, orientation, vector width or thread computes it;
/// with the bias epilogue, that chain's value + bias[column], then the ReLU where asked, as AddBias computes it.
/// Epilogue mutants: the bias indexed by C's row in the transposed orientation's column → the 2-, 4- and 9-wide shapes
/// fail; the epilogue applied after every K chunk (not only the last) → the shapes with K &gt; LongSum fail; the mask read
/// at the tile's offset in the scratch tile instead of C's, or without the tile's column in place → most shapes fail.</summary>
public class SimdGemmTests
{
    static float[] Chain(Strided a, Strided b, int m, int n, int k)
    {
        var c = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float acc = 0f;
                for (int p = 0; p < k; p++) acc = MathF.FusedMultiplyAdd(a.At(i, p), b.At(p, j), acc);
                c[i * n + j] = acc;
            }
        return c;
    }

    // Every path: full 8- and 6-row tiles and partial blocks of 1–7 rows (exact 1/2/4-row tiles and padded ones); full and
    // partial panels; C narrower than a panel (computed transposed: 2, 4 and 9 columns); one row and one column; K = 1;
    // shapes of the models (128×784→256's three GEMMs are covered by the layer tests); sums longer than SimdGemm.LongSum,
    // cut into chunks (a partial last chunk; full, partial and transposed tiles resuming from C); C's rows in several of the
    // GEMM's blocks of rows (64 rows at K = 1,000), the last partial; Aᵀ packed (at least 8 panels and more than 4,096 floats
    // of A in a K chunk, on every thread count), whole and chunked, the last row block partial; 48 × 256 on two threads, a
    // tie between splitting by panels and by rows that goes to rows, each thread packing its own; B's rows 128 floats apart
    // and 9 row blocks: B packed though its rows are contiguous, beside an A read along its rows (SimdGemm.PacksB).
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 1, 37, 5 }, { 7, 1, 9 }, { 3, 33, 17 }, { 5, 64, 3 }, { 13, 100, 31 }, { 16, 32, 64 },
        { 128, 4, 256 }, { 128, 2, 30 }, { 4, 256, 128 }, { 256, 2, 128 }, { 300, 9, 32 }, { 9, 300, 7 }, { 70, 65, 40 },
        { 13, 70, 1300 }, { 70, 9, 1030 }, { 16, 32, 2 * SimdGemm.KBlock + SimdGemm.LongSum },
        { 150, 40, 1000 }, { 45, 260, 200 }, { 40, 260, 1300 }, { 48, 256, 200 }, { 70, 128, 100 },
    };

    [Theory, MemberData(nameof(Shapes))]
    public void EveryLayoutVectorPathAndThreadCountGivesTheInOrderFmaChain(int m, int n, int k)
    {
        var random = new Random(m * 10007 + n * 101 + k);
        float[] Values(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        // Operands placed at an odd offset in a larger array, each read row-major or transposed.
        var aData = Values(m * k + 3); var bData = Values(k * n + 5);
        foreach (bool aTransposed in new[] { false, true })
            foreach (bool bTransposed in new[] { false, true })
            {
                Strided a = aTransposed ? new(aData, 3, 1, m) : new(aData, 3, k, 1);
                Strided b = bTransposed ? new(bData, 5, 1, k) : new(bData, 5, n, 1);
                var expected = Chain(a, b, m, n, k);
                foreach (var path in new[] { VectorPath.Vector512, VectorPath.Vector256, VectorPath.Scalar })
                    foreach (int threads in new[] { 1, 2, 3 })
                    {
                        using var workers = new Workers(threads);
                        var c = new float[m * n + 2];
                        c[0] = c[^1] = 42f;
                        new SimdGemm(threads).Multiply(path, workers, a, b, new(c, 1, n, 1), m, n, k);
                        var what = $"{m}×{n}×{k}, A{(aTransposed ? "ᵀ" : "")}·B{(bTransposed ? "ᵀ" : "")}, {path}, {threads} threads";
                        AssertEqual(expected, c, what);
                        // The bias epilogue: AddBias's v = C + b[column], then the ReLU, on the same chain's value.
                        foreach (bool relu in new[] { false, true })
                        {
                            c = new float[m * n + 2];
                            c[0] = c[^1] = 42f;
                            new SimdGemm(threads).Multiply(path, workers, a, b, new(c, 1, n, 1), m, n, k, new BiasEpilogue(bias, 2, relu));
                            AssertEqual([.. expected.Select((v, i) => relu ? GpuAe.Kernels.Rows.Relu(v + bias[2 + i % n]) : v + bias[2 + i % n])], c,
                                what + (relu ? ", bias and ReLU" : ", bias"));
                        }
                        // The ReLU backward's mask, laid out as C (at its own offset): KeepWherePositive on the same chain's value.
                        c = new float[m * n + 2];
                        c[0] = c[^1] = 42f;
                        new SimdGemm(threads).Multiply(path, workers, a, b, new(c, 1, n, 1), m, n, k, mask: new ReluMask(reluOutput, 3));
                        AssertEqual([.. expected.Select((v, i) => GpuAe.Kernels.Rows.KeepWherePositive(v, reluOutput[3 + i]))], c, what + ", ReLU mask");
                    }
            }
    }

    /// <summary>The ReLU outputs of the mask cases: positive, zero, negative (a ReLU's output is not, but the rule is > 0)
    /// and NaN, so that the mask keeps some elements and zeroes the others.</summary>
    static readonly float[] reluOutput = [.. Enumerable.Range(0, 2 * 300 * 40 + 8).Select(i => (i % 7) switch { 0 => 0f, 1 => -1f, 2 => float.NaN, _ => i * 0.01f })];

    /// <summary>The biases of the epilogue cases: large enough that the ReLU zeroes some sums and keeps others.</summary>
    static readonly float[] bias = [.. Enumerable.Range(0, 400).Select(i => (float)Math.Sin(i * 0.7) * 2)];

    /// <summary>C (at offset 1 of <paramref name="c"/>, a guard each side) equal to <paramref name="expected"/> bit for bit.</summary>
    static void AssertEqual(float[] expected, float[] c, string what)
    {
        Assert.True(c[0] == 42f && c[^1] == 42f, $"{what}: wrote outside C");
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(c[i + 1]),
                $"{what}: C element {i} = {c[i + 1]:R}, the chain gives {expected[i]:R}");
    }
}

public class WorkersTests
{
    [Fact]
    public void EveryBlockRunsOnceAlsoAfterTheWorkersSleep()
    {
        using var workers = new Workers(3);
        var threadsSeen = new HashSet<int>();
        foreach (int pause in new[] { 0, 0, 20, 0, 20, 0 })   // 20 ms: past the spinning, so the workers sleep and are woken
        {
            Thread.Sleep(pause);
            var runs = new int[3]; var threads = new int[3];
            // Each block waits a little, so that the workers have time to claim some.
            workers.Run(3, i => { Interlocked.Increment(ref runs[i]); threads[i] = Environment.CurrentManagedThreadId; Thread.Sleep(2); });
            Assert.Equal([1, 1, 1], runs);
            threadsSeen.UnionWith(threads);
        }
        Assert.True(threadsSeen.Count > 1, "the workers never ran a block");
        var two = new int[3];
        workers.Run(2, i => two[i]++);
        Assert.Equal([1, 1, 0], two);
    }

    [Fact]
    public void AnExceptionInAWorkerReachesTheCallerAfterEveryBlockFinished()
    {
        using var workers = new Workers(2);
        int finished = 0;
        var e = Assert.Throws<AggregateException>(() => workers.Run(2, i =>
        {
            if (i == 1) throw new InvalidOperationException("block 1");
            Thread.Sleep(10);
            Interlocked.Increment(ref finished);
        }));
        Assert.Equal("block 1", e.InnerException!.Message);
        Assert.Equal(1, finished);
        var again = new int[2];
        workers.Run(2, i => again[i]++);                      // still usable
        Assert.Equal([1, 1], again);
    }
}
