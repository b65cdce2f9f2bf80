using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>Runs a trained model over many images or codes in batches and brings the results to the host (reports).</summary>
public static class Inference
{
    /// <summary>Applies <paramref name="run"/> (input batch → output batch) to input[count, inWidth], giving output[count, outWidth].</summary>
    static float[] Batched(IBackend backend, float[] input, int count, int inWidth, int outWidth, int batch, Action<Tensor, int, Tensor> run)
    {
        var deviceIn = backend.Allocate(batch * inWidth);
        var deviceOut = backend.Allocate(batch * outWidth);
        var output = new float[(long)count * outWidth];
        for (int start = 0; start < count; start += batch)
        {
            int rows = Math.Min(batch, count - start);
            backend.Upload(deviceIn, input.AsSpan(start * inWidth, rows * inWidth));
            run(deviceIn, rows, deviceOut);
            backend.Download(deviceOut.Slice(0, rows * outWidth), output.AsSpan(start * outWidth, rows * outWidth));
        }
        return output;
    }

    /// <summary>Reconstructions of images[count, Features]; a conditional model conditions row i on classes[i].</summary>
    public static float[] Reconstruct(IBackend backend, IModel model, float[] images, int count, int[]? classes = null) =>
        Conditioned(backend, model, images, count, model.Features, model.Features, classes, model.Reconstruct);

    /// <summary>latent[count, LatentSize] of images[count, Features] (the AE's code, the VAE's μ); a conditional model
    /// encodes row i with classes[i] (μ of q(z|x, y)).</summary>
    public static float[] Encode(IBackend backend, IModel model, float[] images, int count, int[]? classes = null) =>
        Conditioned(backend, model, images, count, model.Features, model.LatentSize, classes, model.Encode);

    /// <summary>The class the classifier predicts for each image: the largest of its logits.</summary>
    public static int[] Predict(IBackend backend, Classifier classifier, float[] images, int count) =>
        Largest(Batched(backend, images, count, classifier.Features, Classifier.Classes, classifier.MaxRows, classifier.Logits), count);

    /// <summary><see cref="Predict"/> from the images' features (<see cref="Encode"/>'s output): the classifier's head alone, the
    /// same logits (its layer on the same feature values), without running the images through the features again.</summary>
    public static int[] PredictFromFeatures(IBackend backend, Classifier classifier, float[] features, int count) =>
        Largest(Batched(backend, features, count, Classifier.FeatureWidth, Classifier.Classes, classifier.MaxRows, classifier.Head), count);

    /// <summary>The index of each row's largest logit (the first of equals).</summary>
    static int[] Largest(float[] logits, int count) => [.. Enumerable.Range(0, count).Select(i =>
    {
        int best = 0;
        for (int c = 1; c < Classifier.Classes; c++) if (logits[i * Classifier.Classes + c] > logits[i * Classifier.Classes + best]) best = c;
        return best;
    })];

    /// <summary>images[count, Features] decoded from latents[count, LatentSize]; a conditional model decodes row i with
    /// the one-hot row of classes[i].</summary>
    public static float[] Decode(IBackend backend, IModel model, float[] latents, int count, int[]? classes = null) =>
        Conditioned(backend, model, latents, count, model.LatentSize, model.Features, classes, model.Decode);

    /// <summary><see cref="Batched"/>, and for a conditional model (<see cref="ModelKind.IsConditional"/>) each batch's
    /// one-hot classes handed over first; an unconditional model takes no classes.</summary>
    static float[] Conditioned(IBackend backend, IModel model, float[] input, int count, int inWidth, int outWidth, int[]? classes,
        Action<Tensor, int, Tensor> run)
    {
        if (!model.Kind.IsConditional)
            return classes is null ? Batched(backend, input, count, inWidth, outWidth, model.MaxRows, run)
                : throw new ArgumentException($"a {model.Kind} is not conditioned on a class");
        if (classes is null || classes.Length < count) throw new ArgumentException($"a {model.Kind} needs a class per row");
        var conditional = (ISupervised)model;
        int width = conditional.TargetWidth;
        var oneHot = new float[(long)count * width];
        for (int i = 0; i < count; i++) oneHot[i * width + classes[i]] = 1f;
        var condition = backend.Allocate(model.MaxRows * width);
        int start = 0;
        return Batched(backend, input, count, inWidth, outWidth, model.MaxRows, (x, rows, output) =>
        {
            backend.Upload(condition, oneHot.AsSpan(start * width, rows * width));
            conditional.UseTargets(condition);
            run(x, rows, output);
            start += rows;
        });
    }

    /// <summary>Keeps the prior's samples apart from training, evaluation and the other streams of the generator.</summary>
    public const ulong PriorStream = 0x5052_494F_0000_0000UL;

    /// <summary>z[count, dimensions] ~ N(0, I) from the counter generator keyed by <paramref name="seed"/>: the same points
    /// on every device and run.</summary>
    public static float[] PriorLatents(int count, int dimensions, ulong seed) =>
        [.. Enumerable.Range(0, count * dimensions).Select(i => Sampling.Normal(seed, PriorStream, (ulong)i))];
}
