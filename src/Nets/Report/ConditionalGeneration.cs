using GpuAe.Kernels;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Report;

/// <summary>How often the classifier sees the class a conditional model was asked for.</summary>
public static class ConditionalGeneration
{
    /// <summary>The class a conditional model's sample i asks for: the classes in turn, so each has count / 10 samples (±1)
    /// and the first 100 samples hold ten of every class.</summary>
    public static int[] AskedClasses(int count) => [.. Enumerable.Range(0, count).Select(i => i % Classifier.Classes)];

    /// <summary>For each class, the share of the samples that asked for it which the classifier put in it.</summary>
    public static double[] RecognisedByClass(int[] asked, int[] predicted)
    {
        var hits = new int[Classifier.Classes]; var total = new int[Classifier.Classes];
        for (int i = 0; i < asked.Length; i++) { total[asked[i]]++; if (predicted[i] == asked[i]) hits[asked[i]]++; }
        return [.. hits.Select((h, k) => (double)h / total[k])];
    }

    /// <summary><paramref name="count"/> samples z ~ N(0, I) (counter generator keyed by <paramref name="seed"/>) decoded for the
    /// classes in turn, classified: the share recognised per class (the study's measurement, as `gpuae report` takes it).</summary>
    public static double[] Recognised(IBackend backend, IModel model, Classifier classifier, int count, ulong seed)
    {
        var asked = AskedClasses(count);
        var images = Inference.Decode(backend, model, Inference.PriorLatents(count, model.LatentSize, seed), count, asked);
        return RecognisedByClass(asked, Inference.Predict(backend, classifier, images, count));
    }
}
