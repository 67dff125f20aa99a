// AWS's ThresholdedRandomCutForest (the library's thresholded forest: preprocessor, forest, PredictorCorrector) over
// one univariate series, for `npm run bench:nab`: values on stdin (one a line), one "grade,score,threshold" line a
// row on stdout. Run with the reference jar on the class path (single-file source launch, Java 11+):
//   java -cp randomcutforest-reference.jar bench/lib/java/TrcfNab.java SHINGLE TREES SAMPLE TRANSFORM SEED
import com.amazon.randomcutforest.config.TransformMethod;
import com.amazon.randomcutforest.parkservices.AnomalyDescriptor;
import com.amazon.randomcutforest.parkservices.ThresholdedRandomCutForest;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;

public class TrcfNab {
    public static void main(String[] args) throws Exception {
        int shingle = Integer.parseInt(args[0]);
        int trees = Integer.parseInt(args[1]);
        int sample = Integer.parseInt(args[2]);
        TransformMethod transform = TransformMethod.valueOf(args[3]);
        long seed = Long.parseLong(args[4]);
        ThresholdedRandomCutForest forest = ThresholdedRandomCutForest.builder().dimensions(shingle).shingleSize(shingle)
                .internalShinglingEnabled(true).numberOfTrees(trees).sampleSize(sample).transformMethod(transform)
                .randomSeed(seed).build();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out));
        String line;
        long t = 0;
        double[] point = new double[1];
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            point[0] = Double.parseDouble(line);
            AnomalyDescriptor d = forest.process(point, t++);
            out.write(d.getAnomalyGrade() + "," + d.getRCFScore() + "," + d.getThreshold() + "\n");
        }
        out.flush();
    }
}
