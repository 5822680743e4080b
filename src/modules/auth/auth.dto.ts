import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { Optional } from '../../common/validation/decorators';

export class SignInDto {
  @ApiPropertyOptional({
    description: 'The API key (API_KEY). May be given as the X-Api-Key header instead; missing or wrong is a 401',
    example: 'k3y-from-your-environment',
  })
  @Optional()
  @IsString()
  @MaxLength(1024)
  apiKey?: string;
}
