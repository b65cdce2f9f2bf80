namespace GpuAe.Kernels;

/// <summary>A slice of a float buffer that lives on a backend (GPU memory, or host memory for CPU backends).</summary>
/// <remarks>Only the backend that allocated it may read <see cref="Storage"/>; everybody else passes slices around.</remarks>
public readonly record struct Tensor(object Storage, int Offset, int Length)
{
    public Tensor Slice(int offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"slice [{offset}, {offset + length}) outside a tensor of {Length}");
        return new Tensor(Storage, Offset + offset, length);
    }
}

/// <summary>A slice of an int buffer on a backend (row orders for shuffled batches).</summary>
public readonly record struct IndexTensor(object Storage, int Offset, int Length);

/// <summary>Activation fused into the end of a dense layer's GEMM.</summary>
public enum Activation { None = 0, Relu = 1 }

/// <summary>One Adam update's hyper-parameters; the bias corrections 1-β₁ᵗ and 1-β₂ᵗ are computed on the host in double.</summary>
public readonly record struct AdamStep(float LearningRate, float Beta1, float Beta2, float Epsilon, float BiasCorrection1, float BiasCorrection2)
{
    public static AdamStep At(long step, float lr, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f) =>
        new(lr, beta1, beta2, epsilon, (float)(1 - Math.Pow(beta1, step)), (float)(1 - Math.Pow(beta2, step)));
}

/// <summary>A number that changes per step: given when the launch is issued (<see cref="Value"/>), or, with a
/// <see cref="Record"/>, read from its field <see cref="Field"/> on the device when the kernel runs (see
/// <see cref="StepRecord"/>: launches recorded once and replayed). <see cref="Value"/> is then the host's copy.</summary>
public readonly record struct StepValue(long Value, IndexTensor? Record = null, int Field = -1)
{
    public static implicit operator StepValue(long value) => new(value);

    /// <summary>What a kernel launch takes: the number, or the field to read.</summary>
    public StepNumber Argument => new() { Value = Value, Field = Record is null ? -1 : Field };
}

/// <summary>If sums[Slot] (the running loss sum) is NaN or ±∞ and flag[0] is still 0, set flag[0] = Step: the trainer
/// learns at which step the loss went bad without reading it back every step. NaN and ∞ both stay in a running sum,
/// so checking the sum catches a bad batch. Checked by Adam, the step's last launch, instead of by a launch of its own
/// (a one-thread launch is a measurable share of a GPU step: BENCHMARKS.md).</summary>
public readonly record struct NonFiniteWatch(Tensor Sums, int Slot, IndexTensor Flag, long Step);

/// <summary>
/// Everything a model and the trainer need from a compute device. Shapes are in the comments, row-major;
/// weights use PyTorch's nn.Linear layout W[out, in]. Calls are asynchronous on GPUs: nothing is read back
/// until <see cref="Download"/>.
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>Human-readable name of the device, e.g. "CPU accelerator (ILGPU, 2×2 threads)".</summary>
    string DeviceName { get; }

    Tensor Allocate(int length);                 // zero-filled
    IndexTensor AllocateIndices(int length);

    /// <summary>Bytes the backend's tensors and buffers hold now (device memory on a GPU), and the most they have held.</summary>
    long AllocatedBytes { get; }
    long PeakAllocatedBytes { get; }

    /// <summary>Frees, when disposed, every tensor allocated after this call: for work whose tensors are not needed after
    /// it (see <see cref="MemoryLedger"/>). Tensors allocated inside must not be used after it ends.</summary>
    IDisposable Scope();
    void Upload(Tensor destination, ReadOnlySpan<float> source);
    void Upload(IndexTensor destination, ReadOnlySpan<int> source);
    void Download(Tensor source, Span<float> destination);
    void Download(IndexTensor source, Span<int> destination);
    void Fill(Tensor destination, float value);
    void Synchronize();

    /// <summary>y[rows,out] = act(x[rows,in] · w[out,in]ᵀ + b[out]).</summary>
    void DenseForward(Tensor x, Tensor w, Tensor b, Tensor y, int rows, int inFeatures, int outFeatures, Activation activation);

    /// <summary>dx[rows,in] = dy[rows,out] · w[out,in]; when <paramref name="reluOutput"/> is given (the ReLU output
    /// that fed this layer, [rows,in]) the result is masked by reluOutput &gt; 0: the ReLU backward, fused.</summary>
    void DenseBackwardInput(Tensor dy, Tensor w, Tensor dx, int rows, int inFeatures, int outFeatures, Tensor? reluOutput);

    /// <summary>dw[out,in] = dy[rows,out]ᵀ · x[rows,in]; db[out] = Σ_rows dy unless db is null (a product with no bias of
    /// that shape: the transposed convolution's). Overwrites (each parameter is used once per step).</summary>
    void DenseBackwardParameters(Tensor dy, Tensor x, Tensor dw, Tensor? db, int rows, int inFeatures, int outFeatures);

    /// <summary>db[cols] = Σ_rows dy[rows, cols], rows added in order: the bias gradient where it is not part of a GEMM.</summary>
    void ColumnSums(Tensor dy, int rows, int cols, Tensor db);

    // ---- convolutions over channels-last images [count, height, width, channels]; see ConvGeometry ----

    /// <summary>cols[count·OutPixels, PatchLength] = every output position's input patch (zero padded): a convolution
    /// is then DenseForward(cols, w[outChannels, PatchLength]).</summary>
    void Im2Col(Tensor images, Tensor cols, int count, ConvGeometry geometry);

    /// <summary>The adjoint of Im2Col: images[count, InHeight, InWidth, Channels] = every patch entry added back onto its
    /// pixel (overwrites), masked by reluOutput &gt; 0 when given. A convolution's input gradient, a transposed
    /// convolution's output.</summary>
    void Col2Im(Tensor cols, Tensor images, int count, ConvGeometry geometry, Tensor? reluOutput);

    /// <summary>A transposed convolution before its bias: images = Col2Im(x · wᵀ) for x[count·OutPixels, inChannels] and
    /// w[PatchLength, inChannels], the products first written to <paramref name="cols"/>[count·OutPixels, PatchLength]
    /// or, where the backend can (SIMD: a few images at a time, in cache), never written out; the same numbers as
    /// DenseForward with a zero bias, then Col2Im.</summary>
    void ConvTranspose(Tensor x, Tensor w, Tensor cols, Tensor images, int count, int inChannels, ConvGeometry geometry);

    /// <summary>A convolution's input gradient: dx = Col2Im(dy · w, masked by reluOutput &gt; 0 when given) for
    /// dy[count·OutPixels, outChannels] and w[outChannels, PatchLength], the products first written to
    /// <paramref name="cols"/> or, where the backend can, never written out; the same numbers as DenseBackwardInput, then
    /// Col2Im.</summary>
    void ConvBackwardInput(Tensor dy, Tensor w, Tensor cols, Tensor dx, int count, int outChannels, ConvGeometry geometry, Tensor? reluOutput);

    /// <summary>y[rows, cols] = act(y + bias[cols]) in place.</summary>
    void AddBias(Tensor y, Tensor bias, int rows, int cols, Activation activation);

    /// <summary>Per row of logits[rows,cols] against targets in [0,1]: rowBce = Σ BCE(sigmoid(logit), target) computed stably
    /// from the logit, rowSquaredError = Σ (sigmoid(logit) − target)², dLogits = (sigmoid(logit) − target)·gradScale.</summary>
    void SigmoidBce(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowBce, Tensor rowSquaredError, int rows, int cols, float gradScale);

    /// <summary>rowBce of <see cref="SigmoidBce"/>, bit for bit, and nothing else: the loss for scoring (the test pass's
    /// sampled reconstruction, each sample of the IWAE bound), with no gradient or squared error computed or written.</summary>
    void BceRows(Tensor logits, Tensor targets, Tensor rowBce, int rows, int cols);

    /// <summary>Per row of logits[rows,cols] against target distributions (one-hot labels): rowLoss = the softmax
    /// cross-entropy, dLogits = (softmax(logits) − targets)·gradScale, rowCorrect = 1 where the largest logit is the
    /// label's, else 0.</summary>
    void SoftmaxCrossEntropy(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowLoss, Tensor rowCorrect, int rows, int cols, float gradScale);

    /// <summary>Per row of predictions[rows,cols] against targets[rows,cols]: rowLoss = ½·Σ (p − t)² (a Gaussian's negative
    /// log-likelihood, unit variance, without its constant), dPredictions = (p − t)·gradScale.</summary>
    void HalfSquaredError(Tensor predictions, Tensor targets, Tensor dPredictions, Tensor rowLoss, int rows, int cols, float gradScale);

    /// <summary>correct[i] = 1 where logits[i] ≥ 0 exactly when targets[i] ≥ ½, else 0, for i &lt; correct.Length: a binary
    /// classifier's (the discriminator's) decisions scored.</summary>
    void BinaryCorrect(Tensor logits, Tensor targets, Tensor correct);

    /// <summary>accumulator[slot] += scale·Σ values[0..count), summed in a fixed order so reruns are bit-identical.</summary>
    void AccumulateSum(Tensor values, int count, Tensor accumulator, int slot, float scale = 1f);

    /// <summary>Adam on a whole parameter buffer in one launch: p, g, m, v all of the same length. With a
    /// <paramref name="watch"/>, the same launch also records the step at which the running loss went bad (see
    /// <see cref="NonFiniteWatch"/>). With a <paramref name="stepRecord"/>, the bias corrections and the watch's step
    /// are read from it on the device (<see cref="StepRecord"/>), not taken from <paramref name="step"/> and the watch.</summary>
    void Adam(Tensor parameters, Tensor gradients, Tensor firstMoment, Tensor secondMoment, AdamStep step, NonFiniteWatch? watch = null,
        IndexTensor? stepRecord = null);

    /// <summary>record[1..] = schedule entry record[Cursor], and the cursor moves on: the first launch of a step whose
    /// other launches read their per-step numbers from the record (see <see cref="StepRecord"/>).</summary>
    void BeginStep(IndexTensor schedule, IndexTensor record);

    /// <summary>destination[r, :] = data[order[start + r], :] for r &lt; rows: assembles a shuffled batch on the device.</summary>
    void GatherRows(Tensor data, IndexTensor order, StepValue start, int rows, int cols, Tensor destination);

    /// <summary>destination[r, DestinationColumn + c] = source[r, SourceColumn + c] for the rows and columns of
    /// <paramref name="copy"/>; the rest of destination is left alone.</summary>
    void CopyColumns(Tensor source, Tensor destination, ColumnCopy copy);

    /// <summary>y = 1 / (1 + exp(−x)), elementwise: turns decoder logits into images.</summary>
    void Sigmoid(Tensor x, Tensor y);

    /// <summary>dx = dy·y·(1 − y) for i &lt; dx.Length, from the sigmoid's output y: the gradient at the logits.</summary>
    void SigmoidBackward(Tensor y, Tensor dy, Tensor dx);

    /// <summary>y = x where x &gt; 0, else slope·x, for i &lt; y.Length.</summary>
    void LeakyRelu(Tensor x, Tensor y, float slope);

    /// <summary>dx = dy where x &gt; 0, else slope·dy, for i &lt; dx.Length, from the activation's input x.</summary>
    void LeakyReluBackward(Tensor x, Tensor dy, Tensor dx, float slope);

    /// <summary>y += scale·x for i &lt; y.Length.</summary>
    void AddScaled(Tensor x, Tensor y, float scale);

    // ---- the VAE: enc[rows, 2D] holds μ in columns 0..D−1 and log σ² in columns D..2D−1 ----

    /// <summary>noise[i] = standard normal number i of (seed, step), from the counter-based generator.</summary>
    void NormalNoise(Tensor noise, ulong seed, StepValue step);

    /// <summary>z[rows, D] = μ + exp(½·log σ²)·noise (log σ² clamped, see Sampling.MinLogVariance).</summary>
    void Reparameterize(Tensor enc, Tensor noise, Tensor z, int rows, int latent);

    /// <summary>denc = gradient of (decoder loss + klWeight·Σ KL / rows) with respect to enc, from dz; rowKl = KL per row.</summary>
    void ReparameterizeBackward(Tensor enc, Tensor noise, Tensor dz, Tensor denc, Tensor rowKl, int rows, int latent, float klWeightOverRows);

    /// <summary>rowKl[r] = KL(q(z|x_r) ‖ N(0, I)).</summary>
    void KlRows(Tensor enc, Tensor rowKl, int rows, int latent);

    /// <summary>logWeights[sample, r] = log p(x|z) + log p(z) − log q(z|x) for the sample in z and noise.</summary>
    void ImportanceLogWeights(Tensor enc, Tensor noise, Tensor z, Tensor rowBce, Tensor logWeights, int sample, int rows, int latent);

    /// <summary>rowBound[r] = −log mean_s exp(logWeights[s, r]).</summary>
    void NegativeLogMeanExp(Tensor logWeights, int samples, int rows, Tensor rowBound);
}
