using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>What the GEMM does to each result before storing it (flags, combined).</summary>
[Flags]
public enum GemmEpilogue
{
    None = 0,
    AddBias = 1,   // c += bias[n]                      (dense forward)
    Relu = 2,      // c = max(c, 0)                     (dense forward + ReLU)
    ReluMask = 4,  // c = mask[m, n] > 0 ? c : 0        (ReLU backward fused into dX)
}

/// <summary>
/// Shape and strides of one GEMM: C[M,N] (dense, row-major) = Σ_k A(m,k)·B(k,n), then the epilogue, where
/// A(m,k) = a[m·AStrideM + k·AStrideK] and B(k,n) = b[k·BStrideK + n·BStrideN]. The strides let one kernel
/// compute X·Wᵀ (forward), dY·W (input gradient) and dYᵀ·X (weight gradient) without transposing anything.
/// </summary>
public struct GemmArgs
{
    public int M, N, K;
    public int AStrideM, AStrideK, BStrideK, BStrideN;
    public GemmEpilogue Epilogue;

    /// <summary>y[rows,out] = x[rows,in] · w[out,in]ᵀ</summary>
    public static GemmArgs Forward(int rows, int inF, int outF, GemmEpilogue epilogue) => new()
    { M = rows, N = outF, K = inF, AStrideM = inF, AStrideK = 1, BStrideK = 1, BStrideN = inF, Epilogue = epilogue };

    /// <summary>dx[rows,in] = dy[rows,out] · w[out,in]</summary>
    public static GemmArgs BackwardInput(int rows, int inF, int outF, GemmEpilogue epilogue) => new()
    { M = rows, N = inF, K = outF, AStrideM = outF, AStrideK = 1, BStrideK = inF, BStrideN = 1, Epilogue = epilogue };

    /// <summary>dw[out,in] = dy[rows,out]ᵀ · x[rows,in]</summary>
    public static GemmArgs BackwardWeights(int rows, int inF, int outF) => new()
    { M = outF, N = inF, K = rows, AStrideM = 1, AStrideK = outF, BStrideK = inF, BStrideN = 1, Epilogue = GemmEpilogue.None };
}

/// <summary>Eight floats held in registers: one row of a thread's 8×8 tile of C, or the 8 values of B it multiplies.</summary>
public struct Vec8
{
    public float E0, E1, E2, E3, E4, E5, E6, E7;

    public Vec8(float e0, float e1, float e2, float e3, float e4, float e5, float e6, float e7)
    { E0 = e0; E1 = e1; E2 = e2; E3 = e3; E4 = e4; E5 = e5; E6 = e6; E7 = e7; }

    /// <summary>this += s · b</summary>
    public void MultiplyAdd(float s, Vec8 b)
    {
        E0 += s * b.E0; E1 += s * b.E1; E2 += s * b.E2; E3 += s * b.E3;
        E4 += s * b.E4; E5 += s * b.E5; E6 += s * b.E6; E7 += s * b.E7;
    }

    public readonly float this[int j] => j switch
    { 0 => E0, 1 => E1, 2 => E2, 3 => E3, 4 => E4, 5 => E5, 6 => E6, _ => E7 };
}

/// <summary>Eight element offsets, kept in registers for the inner loop.</summary>
public struct Offsets8
{
    public int O0, O1, O2, O3, O4, O5, O6, O7;

    /// <summary>Offsets of indices first..first+7 times stride; indices past the last are clamped to it, so loads
    /// beyond the edge read valid memory and the inner loop needs no branch (those results are never stored).</summary>
    public static Offsets8 Clamped(int first, int last, int stride) => new()
    {
        O0 = Math.Min(first + 0, last) * stride, O1 = Math.Min(first + 1, last) * stride,
        O2 = Math.Min(first + 2, last) * stride, O3 = Math.Min(first + 3, last) * stride,
        O4 = Math.Min(first + 4, last) * stride, O5 = Math.Min(first + 5, last) * stride,
        O6 = Math.Min(first + 6, last) * stride, O7 = Math.Min(first + 7, last) * stride,
    };
}

/// <summary>The dense layers' GEMM family: a register-tiled GEMM with fused epilogues, and the bias-gradient reduction.</summary>
public static class Gemm
{
    /// <summary>Each thread computes an 8×8 tile of C: per k it loads 8 values of A and 8 of B and does 64 multiply-adds,
    /// which is what makes this kernel ~10× faster than one thread per output on the CPU accelerator.</summary>
    public const int Tile = 8;

    /// <summary>Launch over (ceil(N/8), ceil(M/8)) tiles. bias[N] and mask[M,N] are read only when the epilogue asks.</summary>
    public static void Tiled8x8(Index2D tile, GemmArgs g, ArrayView<float> a, ArrayView<float> b,
        ArrayView<float> bias, ArrayView<float> mask, ArrayView<float> c)
    {
        int m0 = tile.Y * Tile, n0 = tile.X * Tile;
        var aRow = Offsets8.Clamped(m0, g.M - 1, g.AStrideM);
        var bCol = Offsets8.Clamped(n0, g.N - 1, g.BStrideN);
        Vec8 c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int k = 0; k < g.K; k++)
        {
            int ak = k * g.AStrideK, bk = k * g.BStrideK;
            var bv = new Vec8(b[bk + bCol.O0], b[bk + bCol.O1], b[bk + bCol.O2], b[bk + bCol.O3],
                              b[bk + bCol.O4], b[bk + bCol.O5], b[bk + bCol.O6], b[bk + bCol.O7]);
            c0.MultiplyAdd(a[ak + aRow.O0], bv); c1.MultiplyAdd(a[ak + aRow.O1], bv);
            c2.MultiplyAdd(a[ak + aRow.O2], bv); c3.MultiplyAdd(a[ak + aRow.O3], bv);
            c4.MultiplyAdd(a[ak + aRow.O4], bv); c5.MultiplyAdd(a[ak + aRow.O5], bv);
            c6.MultiplyAdd(a[ak + aRow.O6], bv); c7.MultiplyAdd(a[ak + aRow.O7], bv);
        }
        StoreRow(g, m0 + 0, n0, c0, bias, mask, c); StoreRow(g, m0 + 1, n0, c1, bias, mask, c);
        StoreRow(g, m0 + 2, n0, c2, bias, mask, c); StoreRow(g, m0 + 3, n0, c3, bias, mask, c);
        StoreRow(g, m0 + 4, n0, c4, bias, mask, c); StoreRow(g, m0 + 5, n0, c5, bias, mask, c);
        StoreRow(g, m0 + 6, n0, c6, bias, mask, c); StoreRow(g, m0 + 7, n0, c7, bias, mask, c);
    }

    static void StoreRow(GemmArgs g, int m, int n0, Vec8 row, ArrayView<float> bias, ArrayView<float> mask, ArrayView<float> c)
    {
        if (m >= g.M) return;
        for (int j = 0; j < Tile; j++)
        {
            int n = n0 + j;
            if (n >= g.N) return;
            float v = row[j];
            if ((g.Epilogue & GemmEpilogue.AddBias) != 0) v += bias[n];
            if ((g.Epilogue & GemmEpilogue.Relu) != 0) v = v > 0f ? v : 0f;
            if ((g.Epilogue & GemmEpilogue.ReluMask) != 0 && !(mask[m * g.N + n] > 0f)) v = 0f;
            c[m * g.N + n] = v;
        }
    }

    /// <summary>db[n] = Σ_r dy[r, n] over dy[rows, cols]; one thread per column, rows summed in order (deterministic).</summary>
    public static void ColumnSums(Index1D n, ArrayView<float> dy, int rows, int cols, ArrayView<float> db)
    {
        float sum = 0f;
        for (int r = 0; r < rows; r++) sum += dy[r * cols + n];
        db[n] = sum;
    }
}
